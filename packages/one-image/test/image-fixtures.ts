import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ActionResult } from '@one-gfs2clvm/one-harness';
import { type FrontEnd, IMG_DS, imageActionData, SYS_DS, sh, VG } from '@one-gfs2clvm/one-harness/testbed';
import type { Runner } from '@one-gfs2clvm/ssh-remote';

// What the one-image testbed suites share beyond the front-end (`setUpFrontEnd` of
// @one-gfs2clvm/one-harness/testbed): oned's image, VM and user documents, the action payload, and
// looks at image LVs on the hosts.

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

/** `DS_DRIVER_ACTION_DATA` for an image action on IMG_DS (with this suite's template by default). */
export function payload(image: string | undefined, template = IMG_DS_TEMPLATE, dsId = IMG_DS): string {
  return imageActionData(image ?? '', template, dsId);
}

/** An image action on IMG_DS, run as oned runs it (payload on stdin). */
export function act(env: FrontEnd, action: string, id: number, image?: string): Promise<ActionResult> {
  return env.ds.dsAction(action, id, payload(image));
}

/** Whether the LV exists, and on which hosts it is active. */
export async function lvWhere(env: FrontEnd, lv: string): Promise<{ exists: boolean; activeOn: string[] }> {
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
  env: FrontEnd,
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
