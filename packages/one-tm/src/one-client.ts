import { XMLParser } from 'fast-xml-parser';
import { TmError } from './errors.js';

/** A VM disk as the driver needs it (from `/VM/TEMPLATE/DISK`). */
export interface VmDisk {
  id: number;
  /** MiB; `undefined` when absent. */
  sizeMiB: number | undefined;
  /** `TYPE`: `BLOCK`, `CDROM`, `fs`, `swap`, `FILE` … */
  type: string;
  fs: string;
  format: string;
  source: string;
  datastoreId: number | undefined;
  tmMad: string;
  persistent: boolean;
  clone: boolean;
  readonly: boolean;
}

export interface VmInfo {
  id: number;
  state: number;
  lcmState: number;
  disks: VmDisk[];
  /** HOSTNAME of the last history record (where the VM runs or ran), if any. */
  lastHost: string | undefined;
  /** DS_ID of the last history record (the system datastore), if any. */
  systemDsId?: number | undefined;
  /** Owner, group and `PERMISSIONS` as 9 characters (`um-u-----`), for ownership checks. */
  owner?: Ownership | undefined;
}

/** Who owns an OpenNebula object and what others may do with it. */
export interface Ownership {
  uid: number;
  gid: number;
  /** owner/group/other × use/manage/admin: `u`, `m`, `a` or `-` (e.g. `um-u-----`). */
  permissions: string;
}

/** An image as `oneimage show -x` describes it (what the DS driver needs). */
export interface ImageInfo {
  id: number;
  name: string;
  owner: Ownership;
  /** `SOURCE` (`<vg>/<lv>` for gfs2clvm images). */
  source: string;
  persistent: boolean;
  /** oned image state: 1 READY, 2 USED, 4 LOCKED, 5 ERROR, 8 USED_PERS … */
  state: number;
  datastoreId: number | undefined;
  /** `RUNNING_VMS`: how many VMs use it. */
  runningVms: number;
  /** `VMS/ID`. */
  vmIds: number[];
  sizeMiB: number | undefined;
}

/** A user as `oneuser show -x` describes it. */
export interface UserInfo {
  id: number;
  gid: number;
  /** Every group of the user (primary and secondary). */
  groups: number[];
}

/** The DS driver's additional questions (images and users for `vol://` and `lvm://` sources). */
export interface OneImageClient extends OneClient {
  image(id: number): Promise<ImageInfo>;
  user(id: number): Promise<UserInfo>;
}

export interface DatastoreInfo {
  id: number;
  name: string;
  /** 0 image, 1 system, 2 file. */
  type: number;
  tmMad: string;
  template: Record<string, string>;
  clusterIds: number[];
}

export interface HostInfo {
  id: number;
  name: string;
  /** oned host state: 2 MONITORED is usable; 3 ERROR, 4 DISABLED, 8 OFFLINE are not. */
  state: number;
  clusterId: number | undefined;
}

/** What the driver asks oned. Implementations: the OpenNebula CLI (`CliOneClient`), fakes in tests. */
export interface OneClient {
  vm(id: number): Promise<VmInfo>;
  datastore(id: number): Promise<DatastoreInfo>;
  hosts(): Promise<HostInfo[]>;
}

/** LCM states that matter to the driver (OpenNebula's VirtualMachine::LcmState). */
export const LCM = {
  RUNNING: 3,
  HOTPLUG_SAVEAS: 26,
} as const;

/** Host states in which a host can do work. */
export const USABLE_HOST_STATES = new Set([1, 2]); // MONITORING_MONITORED, MONITORED

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name, jpath) =>
    ['DISK', 'HISTORY', 'HOST'].includes(name) ||
    (name === 'ID' && /(CLUSTERS|VMS|GROUPS)\.ID$/.test(String(jpath))),
});

type Node = Record<string, unknown>;

function parse(xml: string, what: string): Node {
  try {
    return parser.parse(xml) as Node;
  } catch (error) {
    throw new TmError('ONED', `${what}: not XML: ${(error as Error).message}`, { cause: error });
  }
}

const asNode = (v: unknown): Node => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : {});
const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]);

function int(v: unknown): number | undefined {
  const t = text(v).trim();
  return /^-?[0-9]+$/.test(t) ? Number(t) : undefined;
}

function required(v: unknown, what: string): number {
  const n = int(v);
  if (n === undefined) throw new TmError('ONED', `${what} missing in oned's answer`);
  return n;
}

const yes = (v: unknown) => text(v).toUpperCase() === 'YES';

/** Parses `onevm show -x` output (also the base64-decoded XML of pre/post/failmigrate). */
export function parseVmXml(xml: string): VmInfo {
  const vm = asNode(parse(xml, 'VM XML').VM);
  const template = asNode(vm.TEMPLATE);
  const disks = list(template.DISK).map((d): VmDisk => {
    const disk = asNode(d);
    const size = int(disk.SIZE);
    return {
      id: required(disk.DISK_ID, 'DISK_ID'),
      sizeMiB: size,
      type: text(disk.TYPE),
      fs: text(disk.FS),
      format: text(disk.FORMAT),
      source: text(disk.SOURCE),
      datastoreId: int(disk.DATASTORE_ID),
      tmMad: text(disk.TM_MAD),
      persistent: yes(disk.PERSISTENT),
      clone: yes(disk.CLONE),
      readonly: yes(disk.READONLY),
    };
  });
  const history = list(asNode(vm.HISTORY_RECORDS).HISTORY).map(asNode);
  const last = history[history.length - 1];
  return {
    id: required(vm.ID, 'VM ID'),
    state: int(vm.STATE) ?? -1,
    lcmState: int(vm.LCM_STATE) ?? -1,
    disks,
    lastHost: last ? text(last.HOSTNAME) || undefined : undefined,
    systemDsId: last ? int(last.DS_ID) : undefined,
    // Optional: the TM actions never need it, so a VM document without GID must still parse.
    owner: int(vm.UID) === undefined || int(vm.GID) === undefined ? undefined : ownership(vm),
  };
}

const RIGHTS = ['OWNER', 'GROUP', 'OTHER'].flatMap((who) =>
  (['U', 'M', 'A'] as const).map((r) => [`${who}_${r}`, r.toLowerCase()] as const),
);

/** UID, GID and `<PERMISSIONS>` of an object element; missing permissions mean none. */
function ownership(node: Node): Ownership {
  const perms = asNode(node.PERMISSIONS);
  return {
    uid: required(node.UID, 'UID'),
    gid: required(node.GID, 'GID'),
    permissions: RIGHTS.map(([key, letter]) => (text(perms[key]).trim() === '1' ? letter : '-')).join(''),
  };
}

/** Parses `oneimage show -x`. */
export function parseImageXml(xml: string): ImageInfo {
  const image = asNode(parse(xml, 'image XML').IMAGE);
  return {
    id: required(image.ID, 'IMAGE ID'),
    name: text(image.NAME),
    owner: ownership(image),
    source: text(image.SOURCE),
    persistent: text(image.PERSISTENT).trim() === '1',
    state: int(image.STATE) ?? -1,
    datastoreId: int(image.DATASTORE_ID),
    runningVms: int(image.RUNNING_VMS) ?? 0,
    vmIds: list(asNode(image.VMS).ID)
      .map(int)
      .filter((n): n is number => n !== undefined),
    sizeMiB: int(image.SIZE),
  };
}

/** Parses `oneuser show -x`. */
export function parseUserXml(xml: string): UserInfo {
  const user = asNode(parse(xml, 'user XML').USER);
  const gid = required(user.GID, 'USER GID');
  const groups = list(asNode(user.GROUPS).ID)
    .map(int)
    .filter((n): n is number => n !== undefined);
  return { id: required(user.ID, 'USER ID'), gid, groups: groups.includes(gid) ? groups : [gid, ...groups] };
}

/** Parses a `<DATASTORE>` element (from `onedatastore show -x` or a DS_DRIVER_ACTION_DATA). */
export function parseDatastoreNode(node: Node): DatastoreInfo {
  const template: Record<string, string> = {};
  for (const [key, value] of Object.entries(asNode(node.TEMPLATE))) {
    const t = text(value);
    if (t !== '' || typeof value === 'string') template[key] = t;
  }
  return {
    id: required(node.ID, 'DATASTORE ID'),
    name: text(node.NAME),
    type: int(node.TYPE) ?? -1,
    tmMad: text(node.TM_MAD),
    template,
    clusterIds: list(asNode(node.CLUSTERS).ID)
      .map(int)
      .filter((n): n is number => n !== undefined),
  };
}

export function parseDatastoreXml(xml: string): DatastoreInfo {
  return parseDatastoreNode(asNode(parse(xml, 'datastore XML').DATASTORE));
}

/** The system-DS MONITOR payload: the datastore and DATASTORE_LOCATION. */
export function parseMonitorPayload(xml: string): { datastore: DatastoreInfo; datastoreLocation: string } {
  const root = asNode(parse(xml, 'DS_DRIVER_ACTION_DATA').DS_DRIVER_ACTION_DATA);
  return {
    datastore: parseDatastoreNode(asNode(root.DATASTORE)),
    datastoreLocation: text(root.DATASTORE_LOCATION),
  };
}

/** Parses `onehost list -x`. */
export function parseHostPoolXml(xml: string): HostInfo[] {
  const pool = asNode(parse(xml, 'host pool XML').HOST_POOL);
  return list(pool.HOST).map((h) => {
    const host = asNode(h);
    return {
      id: required(host.ID, 'HOST ID'),
      name: text(host.NAME),
      state: int(host.STATE) ?? -1,
      clusterId: int(host.CLUSTER_ID),
    };
  });
}
