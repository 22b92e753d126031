import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ActionResult,
  createFakeOned,
  DsDriver,
  datastoreXml,
  dsActionData,
  type FakeOned,
  hostPoolXml,
} from '@one-gfs2clvm/one-harness';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster, writeSshConfig } from '@one-gfs2clvm/testbed';

/** The built driver, laid out as `<remotes>/datastore/gfs2clvm/<action>` (tests run what gets installed). */
export const REMOTES = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'remotes');

export const MiB = 2 ** 20;
export const SYS_DS = 100;
export const IMG_DS = 101;
export const VG = 'vg-one-100';
/** A folder on the GFS2 mount for the "import from file" scenarios (listed in SAFE_DIRS). */
export const GFS2_DIR = '/var/lib/one/datastores/one-image-core';
export const STAGING = '/var/lib/one/datastores/.gfs2clvm-import';

const cdata = (value: string | number) => `<![CDATA[${String(value)}]]>`;
const el = (tag: string, value: string | number | undefined) =>
  value === undefined ? '' : `<${tag}>${cdata(value)}</${tag}>`;

/** `<PERMISSIONS>` from 9 characters (`um-u-----`: owner/group/other × use/manage/admin). */
export function permissionsXml(text: string): string {
  const keys = ['OWNER', 'GROUP', 'OTHER'].flatMap((w) => ['U', 'M', 'A'].map((r) => `${w}_${r}`));
  return `<PERMISSIONS>${keys.map((k, i) => `<${k}>${text[i] && text[i] !== '-' ? 1 : 0}</${k}>`).join('')}</PERMISSIONS>`;
}

export interface ImageSpec {
  id: number;
  uid?: number;
  gid?: number;
  path?: string;
  source?: string;
  format?: string;
  fs?: string;
  sizeMiB?: number;
  persistent?: boolean;
  type?: number;
  cloningId?: number;
  vms?: number[];
  permissions?: string;
  state?: number;
}

/** An `<IMAGE>` element in oned's shape (Image::to_xml). */
export function imageXml(s: ImageSpec): string {
  const vms = s.vms ?? [];
  return (
    `<IMAGE><ID>${s.id}</ID><UID>${s.uid ?? 0}</UID><GID>${s.gid ?? 0}</GID>${el('UNAME', 'u')}${el('GNAME', 'g')}` +
    `${el('NAME', `img${s.id}`)}${permissionsXml(s.permissions ?? 'um-------')}<TYPE>${s.type ?? 0}</TYPE><DISK_TYPE>2</DISK_TYPE>` +
    `<PERSISTENT>${s.persistent ? 1 : 0}</PERSISTENT><REGTIME>1</REGTIME>${el('SOURCE', s.source ?? '')}` +
    `${el('PATH', s.path ?? '')}${el('FORMAT', s.format ?? '')}${el('FS', s.fs ?? '')}<SIZE>${s.sizeMiB ?? 0}</SIZE>` +
    `<STATE>${s.state ?? 4}</STATE><PREV_STATE>0</PREV_STATE><RUNNING_VMS>${vms.length}</RUNNING_VMS><CLONING_OPS>0</CLONING_OPS>` +
    `<CLONING_ID>${s.cloningId ?? -1}</CLONING_ID><TARGET_SNAPSHOT>-1</TARGET_SNAPSHOT><DATASTORE_ID>${IMG_DS}</DATASTORE_ID>` +
    `${el('DATASTORE', 'img')}<VMS>${vms.map((v) => `<ID>${v}</ID>`).join('')}</VMS><CLONES/><APP_CLONES/>` +
    `<TEMPLATE>${el('DEV_PREFIX', 'vd')}${el('DRIVER', 'raw')}</TEMPLATE><SNAPSHOTS><ALLOW_ORPHANS>${cdata('NO')}</ALLOW_ORPHANS></SNAPSHOTS></IMAGE>`
  );
}

export interface VmSpec {
  id: number;
  uid: number;
  gid: number;
  permissions: string;
  /** 3 ACTIVE, 5 SUSPENDED, 8 POWEROFF … */
  state: number;
  lcmState?: number;
  host: string;
  disks: { id: number; source?: string; persistent?: boolean }[];
}

/** `onevm show -x` of a VM with owner, permissions and disks. */
export function vmXml(v: VmSpec): string {
  const disks = v.disks
    .map(
      (d) =>
        `<DISK>${el('DISK_ID', d.id)}${el('TYPE', 'BLOCK')}${el('PERSISTENT', d.persistent ? 'YES' : undefined)}` +
        `${el('CLONE', d.persistent ? 'NO' : 'YES')}${el('SOURCE', d.source)}${el('DATASTORE_ID', d.source ? IMG_DS : SYS_DS)}${el('TM_MAD', 'gfs2clvm')}</DISK>`,
    )
    .join('');
  return (
    `<VM><ID>${v.id}</ID><UID>${v.uid}</UID><GID>${v.gid}</GID>${el('UNAME', 'u')}${el('GNAME', 'g')}<NAME>vm${v.id}</NAME>` +
    `${permissionsXml(v.permissions)}<STATE>${v.state}</STATE><LCM_STATE>${v.lcmState ?? 0}</LCM_STATE><TEMPLATE>${disks}</TEMPLATE>` +
    `<HISTORY_RECORDS><HISTORY><OID>${v.id}</OID><SEQ>0</SEQ><HOSTNAME>${v.host}</HOSTNAME><HID>0</HID><DS_ID>${SYS_DS}</DS_ID>` +
    `<TM_MAD>gfs2clvm</TM_MAD></HISTORY></HISTORY_RECORDS></VM>`
  );
}

/** `oneuser show -x`. */
export function userXml(id: number, gid: number, groups: number[]): string {
  return `<USER><ID>${id}</ID><GID>${gid}</GID><GROUPS>${groups.map((g) => `<ID>${g}</ID>`).join('')}</GROUPS>${el('GNAME', 'g')}${el('NAME', `user${id}`)}</USER>`;
}

/** The image datastore's template of the tests. */
export const IMG_DS_TEMPLATE: Record<string, string> = {
  VG_NAME: VG,
  SAFE_DIRS: GFS2_DIR,
  DISK_TYPE: 'BLOCK',
  DRIVER: 'raw',
  TM_MAD: 'gfs2clvm',
  DS_MAD: 'gfs2clvm',
  TYPE: 'IMAGE_DS',
};

/** `DS_DRIVER_ACTION_DATA` for an image action on IMG_DS. */
export function payload(image: string | undefined, template = IMG_DS_TEMPLATE, dsId = IMG_DS): string {
  const t = Object.entries(template)
    .map(([k, v]) => el(k, v))
    .join('');
  return dsActionData({
    dsMad: 'gfs2clvm',
    tmMad: 'gfs2clvm',
    type: 0,
    id: dsId,
    before: image ?? '',
    datastoreExtra:
      `${el('NAME', `ds${dsId}`)}<BASE_PATH>/var/lib/one//datastores/${dsId}</BASE_PATH>` +
      `<CLUSTERS><ID>0</ID></CLUSTERS><TEMPLATE>${t}</TEMPLATE>`,
  });
}

export interface Env {
  cluster: Cluster;
  dir: string;
  oned: FakeOned;
  ds: DsDriver;
  /** The same driver with the ≤ 6.6 argv payload form. */
  dsArgv: DsDriver;
  root: (host: string) => Runner;
  setUser: (id: number, xml: string) => Promise<void>;
  act: (action: string, id: number, image?: string) => Promise<ActionResult>;
}

/** Attaches to the testbed and lays out the front-end side: driver config, SSH config, fake oned. */
export async function setUpEnv(): Promise<Env> {
  if (!existsSync(join(REMOTES, 'datastore', 'gfs2clvm', 'gfs2clvm-ds.mjs')))
    throw new Error(`${REMOTES} is not built: run pnpm --filter @one-gfs2clvm/one-image build`);
  const cluster = await attach();
  const dir = await mkdtemp(join(tmpdir(), 'one-image-e2e-'));
  const first = cluster.hosts[0];
  if (!first) throw new Error('testbed has no hosts');
  await writeSshConfig(cluster, join(dir, 'ssh_config'));
  await writeFile(
    join(dir, 'gfs2clvm.conf'),
    [
      '# testbed: root over SSH with plain LVM (the host helper is laid down by the installer)',
      'SSH_USER=root',
      'LVM_BACKEND=lvm',
      'LVM_PREFIX=lvm',
      `SSH_CONFIG=${join(dir, 'ssh_config')}`,
      `SSH_KNOWN_HOSTS=${first.knownHostsFile}`,
      'FRONTEND_HOSTS=fe',
      'SSH_CONNECT_TIMEOUT=30',
      `LOCK_DIR=${join(dir, 'lock')}`,
      'DEBUG=yes',
      '',
    ].join('\n'),
  );
  const oned = await createFakeOned(join(dir, 'one'));
  await oned.setHosts(hostPoolXml(cluster.hosts.map((h) => h.name)));
  await oned.setDatastore(SYS_DS, datastoreXml({ id: SYS_DS, type: 1, template: { SHARED: 'YES' } }));
  const env = { ...process.env, ...oned.env, GFS2CLVM_CONF: join(dir, 'gfs2clvm.conf') };
  // A private copy of the built scripts: a rebuild of dist/ by someone else (tsup empties it first)
  // cannot pull them away from under a running suite (seen: every action after it "No such file").
  const remotes = join(dir, 'remotes');
  await cp(REMOTES, remotes, { recursive: true });
  const options = {
    remotesDir: remotes,
    drivers: ['gfs2clvm'],
    systemDrivers: ['gfs2clvm'],
    cwd: dir,
    env,
    timeoutSeconds: 300,
  };
  const ds = new DsDriver(options);
  await ds.init();
  const dsArgv = new DsDriver({ ...options, payload: 'argv' });
  await dsArgv.init();
  return {
    cluster,
    dir,
    oned,
    ds,
    dsArgv,
    root: (host) => cluster.host(host).runner('root'),
    setUser: (id, xml) => oned.setUser(id, xml),
    act: (action, id, image) => ds.dsAction(action, id, payload(image)),
  };
}

/** Runs a command as root on a testbed host and returns its trimmed stdout. */
export async function sh(runner: Runner, argv: string[]): Promise<string> {
  return (await runner.run(argv, { timeoutMs: 300_000 })).stdout.trim();
}

/** Whether the LV exists, and on which hosts it is active. */
export async function lvWhere(env: Env, lv: string): Promise<{ exists: boolean; activeOn: string[] }> {
  const activeOn: string[] = [];
  let exists = false;
  for (const host of env.cluster.hosts) {
    const r = await env
      .root(host.name)
      .run(['lvs', '--noheadings', '-o', 'lv_active_locally', `${VG}/${lv}`], {
        reject: false,
        timeoutMs: 120_000,
      });
    if (r.exitCode !== 0) continue;
    exists = true;
    if (r.stdout.includes('active locally')) activeOn.push(host.name);
  }
  return { exists, activeOn };
}

/**
 * sha256 of the first `bytes` of an image LV and of its rest, read on `host` (activated shared for
 * the read and deactivated again).
 */
export async function lvSums(
  env: Env,
  host: string,
  lv: string,
  bytes: number,
): Promise<{ head: string; tailZero: boolean; sizeBytes: number }> {
  const r = env.root(host);
  const dev = `/dev/${VG}/${lv}`;
  await sh(r, ['lvchange', '-asy', `${VG}/${lv}`]);
  try {
    const size = Number(await sh(r, ['blockdev', '--getsize64', dev]));
    const head = (await sh(r, ['sh', '-c', 'head -c "$2" "$1" | sha256sum', 's', dev, String(bytes)])).split(
      ' ',
    )[0] as string;
    const tail = await sh(r, [
      'sh',
      '-c',
      'tail -c +"$(($2 + 1))" "$1" | tr -d "\\000" | wc -c',
      's',
      dev,
      String(bytes),
    ]);
    return { head, tailZero: tail === '0', sizeBytes: size };
  } finally {
    await r.run(['lvchange', '-an', `${VG}/${lv}`], { reject: false, timeoutMs: 120_000 });
  }
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Copies a local file onto the GFS2 mount through `runner`'s host. */
export async function upload(runner: Runner, local: string, remote: string): Promise<void> {
  await runner.run(['dd', `of=${remote}`, 'bs=1M', 'status=none'], {
    stdin: createReadStream(local),
    timeoutMs: 300_000,
  });
}
