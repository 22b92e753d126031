import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from './errors.js';

/**
 * oned's side of the callbacks a driver makes: `onevm show -x <id>`, `onedatastore show -x <id>`,
 * `oneimage show -x <id>` and `onehost list -x`, answered from XML files in a folder. Put `env` into
 * the driver's environment (it prepends the fake commands to PATH) and write the answers with the
 * setters (`oneuser show -x <id>` too); an object without an answer fails like oned does (`[one.vm.info] Error getting object`).
 */
export interface FakeOned {
  /** The folder: `bin/` (the fake commands) and the XML answers. */
  dir: string;
  binDir: string;
  /** `PATH` (fakes first) and `FAKE_ONE_DIR`, to merge into the scripts' environment. */
  env: { PATH: string; FAKE_ONE_DIR: string };
  setVm(id: number, xml: string): Promise<void>;
  setDatastore(id: number, xml: string): Promise<void>;
  setImage(id: number, xml: string): Promise<void>;
  setUser(id: number, xml: string): Promise<void>;
  setHosts(xml: string): Promise<void>;
}

const COMMANDS = [
  ['onevm', 'show -x', 'vm', 'vm-$3.xml'],
  ['onedatastore', 'show -x', 'datastore', 'ds-$3.xml'],
  ['oneimage', 'show -x', 'image', 'image-$3.xml'],
  ['oneuser', 'show -x', 'user', 'user-$3.xml'],
  ['onehost', 'list -x', 'host', 'hosts.xml'],
] as const;

const fakeCommand = (name: string, usage: string, kind: string, file: string) => `#!/bin/sh
# fake ${name} (one-harness): answers "${name} ${usage}" from $FAKE_ONE_DIR
case "$1 $2" in
  "${usage}") ;;
  *) echo "fake ${name}: unsupported arguments: $*" >&2; exit 1 ;;
esac
case "$3" in
  */*|..) echo "fake ${name}: bad id: $3" >&2; exit 1 ;;
esac
f="$FAKE_ONE_DIR/${file}"
[ -f "$f" ] || { echo "[one.${kind}.info] Error getting object [$3]." >&2; exit 255; }
exec cat "$f"
`;

function checkId(what: string, id: number): void {
  if (!Number.isSafeInteger(id) || id < 0)
    throw new HarnessError('INVALID_ARGUMENT', `${what} id ${id} is not a non-negative integer`);
}

/** Lays out the fake commands in `<dir>/bin` (the folder is created when missing). */
export async function createFakeOned(dir: string, basePath = process.env.PATH ?? ''): Promise<FakeOned> {
  const binDir = join(dir, 'bin');
  await mkdir(binDir, { recursive: true });
  for (const [name, usage, kind, file] of COMMANDS) {
    await writeFile(join(binDir, name), fakeCommand(name, usage, kind, file));
    await chmod(join(binDir, name), 0o755);
  }
  const answer = (what: string, prefix: string) => async (id: number, xml: string) => {
    checkId(what, id);
    return writeFile(join(dir, `${prefix}-${id}.xml`), xml);
  };
  return {
    dir,
    binDir,
    env: { PATH: basePath ? `${binDir}:${basePath}` : binDir, FAKE_ONE_DIR: dir },
    setVm: answer('VM', 'vm'),
    setDatastore: answer('datastore', 'ds'),
    setImage: answer('image', 'image'),
    setUser: answer('user', 'user'),
    setHosts: (xml) => writeFile(join(dir, 'hosts.xml'), xml),
  };
}

const cdata = (value: string | number) => `<![CDATA[${String(value).replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
const element = (tag: string, value: string | number | undefined) =>
  value === undefined ? '' : `<${tag}>${cdata(value)}</${tag}>`;

export interface VmDisk {
  id: number;
  /** `BLOCK` (default), `FS`, `swap`, `CDROM`, `CONTEXT` … */
  type?: string;
  sizeMiB?: number;
  fs?: string;
  persistent?: boolean;
  /** Image SOURCE (`<vg>/<lv>`); absent for volatile disks. */
  source?: string;
  /** Datastore of the disk: the image datastore when `source` is set, else the system one. */
  datastoreId?: number;
  tmMad?: string;
}

export interface VmXmlInput {
  id: number;
  /** The host of the last history record. */
  host: string;
  disks: VmDisk[];
  systemDs: number;
  /** Default datastore of disks with a `source`. */
  imageDs?: number;
  /** 3 ACTIVE (RUNNING), 26 HOTPLUG_SAVEAS, 43 HOTPLUG_SAVEAS_POWEROFF … Default 3. */
  lcmState?: number;
  /** 3 ACTIVE, 8 POWEROFF … Default 3. */
  state?: number;
  uid?: number;
  tmMad?: string;
  /** `DEPLOY_ID` (the libvirt domain, `one-<id>`); absent: none. */
  deployId?: string;
  /** `BACKUPS/BACKUP_CONFIG/FS_FREEZE`; absent: none. */
  fsFreeze?: string;
}

/** A `<VM>` document in oned's shape with what storage drivers read (DISKs, LCM_STATE, history). */
export function vmXml(input: VmXmlInput): string {
  checkId('VM', input.id);
  const tmMad = input.tmMad ?? 'gfs2clvm';
  const disks = input.disks
    .map((d) => {
      const ds = d.datastoreId ?? (d.source ? (input.imageDs ?? input.systemDs) : input.systemDs);
      return (
        `<DISK>${element('DISK_ID', d.id)}${element('TYPE', d.type ?? 'BLOCK')}${element('SIZE', d.sizeMiB)}` +
        `${element('FS', d.fs)}${element('PERSISTENT', d.persistent ? 'YES' : undefined)}` +
        `${element('CLONE', d.persistent ? 'NO' : 'YES')}${element('SOURCE', d.source)}` +
        `${element('DATASTORE_ID', ds)}${element('TM_MAD', d.tmMad ?? tmMad)}</DISK>`
      );
    })
    .join('');
  return (
    `<VM><ID>${input.id}</ID><UID>${input.uid ?? 0}</UID><NAME>vm${input.id}</NAME>` +
    `<STATE>${input.state ?? 3}</STATE><LCM_STATE>${input.lcmState ?? 3}</LCM_STATE>` +
    `${element('DEPLOY_ID', input.deployId)}` +
    `<TEMPLATE>${disks}<VMID>${cdata(input.id)}</VMID></TEMPLATE>` +
    (input.fsFreeze === undefined
      ? ''
      : `<BACKUPS><BACKUP_CONFIG>${element('FS_FREEZE', input.fsFreeze)}</BACKUP_CONFIG></BACKUPS>`) +
    `<HISTORY_RECORDS><HISTORY><OID>${input.id}</OID><SEQ>0</SEQ><HOSTNAME>${input.host}</HOSTNAME>` +
    `<HID>0</HID><DS_ID>${input.systemDs}</DS_ID><TM_MAD>${tmMad}</TM_MAD></HISTORY></HISTORY_RECORDS></VM>`
  );
}

export interface DatastoreXmlInput {
  id: number;
  /** 0 image, 1 system, 2 file. */
  type: number;
  tmMad?: string;
  dsMad?: string;
  /** Template attributes (`VG_NAME`, `BRIDGE_LIST`, `SHARED` …). */
  template?: Record<string, string>;
  clusters?: number[];
}

/** A `<DATASTORE>` document as `onedatastore show -x` prints it. */
export function datastoreXml(input: DatastoreXmlInput): string {
  checkId('datastore', input.id);
  const template = Object.entries(input.template ?? {})
    .map(([k, v]) => element(k, v))
    .join('');
  const clusters = (input.clusters ?? [0]).map((c) => `<ID>${c}</ID>`).join('');
  return (
    `<DATASTORE><ID>${input.id}</ID><NAME>ds${input.id}</NAME>${element('DS_MAD', input.dsMad ?? '-')}` +
    `${element('TM_MAD', input.tmMad ?? 'gfs2clvm')}<BASE_PATH>/var/lib/one//datastores/${input.id}</BASE_PATH>` +
    `<TYPE>${input.type}</TYPE><CLUSTERS>${clusters}</CLUSTERS><TEMPLATE>${template}</TEMPLATE></DATASTORE>`
  );
}

/** `onehost list -x`: every host ON (STATE 2) in cluster 0. */
export function hostPoolXml(names: string[]): string {
  return `<HOST_POOL>${names.map((n, i) => `<HOST><ID>${i}</ID><NAME>${n}</NAME><STATE>2</STATE><CLUSTER_ID>0</CLUSTER_ID></HOST>`).join('')}</HOST_POOL>`;
}

export interface ImageXmlInput {
  id: number;
  datastoreId: number;
  uid?: number;
  gid?: number;
  /** 0 OS (default), 1 CDROM, 2 DATABLOCK … */
  type?: number;
  persistent?: boolean;
  /** 4 LOCKED (default: what oned sets while cp/mkfs run), 1 READY, 2 USED … */
  state?: number;
  path?: string;
  source?: string;
  /** `raw`, `qcow2`, `save_as` (disk-saveas) … */
  format?: string;
  fs?: string;
  sizeMiB?: number;
  /** 9 characters, owner/group/other × use/manage/admin, e.g. `um-u-----` (default `um-------`). */
  permissions?: string;
  /** Ids of the VMs using it. */
  vms?: number[];
}

/** An `<IMAGE>` element in oned's shape (`Image::to_xml`), for DS payloads and `oneimage show -x`. */
export function imageXml(input: ImageXmlInput): string {
  checkId('image', input.id);
  const rights = input.permissions ?? 'um-------';
  const permissions = ['OWNER', 'GROUP', 'OTHER']
    .flatMap((who) => ['U', 'M', 'A'].map((right) => `${who}_${right}`))
    .map((key, i) => `<${key}>${rights[i] && rights[i] !== '-' ? 1 : 0}</${key}>`)
    .join('');
  const vms = input.vms ?? [];
  return (
    `<IMAGE><ID>${input.id}</ID><UID>${input.uid ?? 0}</UID><GID>${input.gid ?? 0}</GID>` +
    `${element('UNAME', 'oneadmin')}${element('GNAME', 'oneadmin')}${element('NAME', `img${input.id}`)}` +
    `<PERMISSIONS>${permissions}</PERMISSIONS><TYPE>${input.type ?? 0}</TYPE><DISK_TYPE>2</DISK_TYPE>` +
    `<PERSISTENT>${input.persistent ? 1 : 0}</PERSISTENT><REGTIME>1</REGTIME>` +
    `<SOURCE>${cdata(input.source ?? '')}</SOURCE><PATH>${cdata(input.path ?? '')}</PATH>` +
    `<FORMAT>${cdata(input.format ?? '')}</FORMAT><FS>${cdata(input.fs ?? '')}</FS><SIZE>${input.sizeMiB ?? 0}</SIZE>` +
    `<STATE>${input.state ?? 4}</STATE><PREV_STATE>0</PREV_STATE><RUNNING_VMS>${vms.length}</RUNNING_VMS>` +
    `<CLONING_OPS>0</CLONING_OPS><CLONING_ID>-1</CLONING_ID><TARGET_SNAPSHOT>-1</TARGET_SNAPSHOT>` +
    `<DATASTORE_ID>${input.datastoreId}</DATASTORE_ID>${element('DATASTORE', `ds${input.datastoreId}`)}` +
    `<VMS>${vms.map((v) => `<ID>${v}</ID>`).join('')}</VMS><CLONES/><APP_CLONES/>` +
    `<TEMPLATE>${element('DEV_PREFIX', 'vd')}${element('DRIVER', 'raw')}</TEMPLATE>` +
    `<SNAPSHOTS><ALLOW_ORPHANS>${cdata('NO')}</ALLOW_ORPHANS></SNAPSHOTS></IMAGE>`
  );
}
