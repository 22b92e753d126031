import { DriverError } from './errors.js';
import {
  asNode,
  intValue,
  listOf,
  type PermissionFlags,
  parseXml,
  permissionFlags,
  textOf,
  type XmlNode,
} from './one-xml.js';

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
  /** Owner, group and `PERMISSIONS`, for ownership checks. */
  owner?: Ownership | undefined;
  /** `DEPLOY_ID`: the hypervisor's name of the VM (libvirt domain `one-<id>`), once deployed. */
  deployId?: string | undefined;
  /** `BACKUPS/BACKUP_CONFIG/FS_FREEZE` as written (`AGENT`, `SUSPEND`, `NONE`), if set. */
  fsFreeze?: string | undefined;
}

/** Who owns an OpenNebula object and what others may do with it. */
export interface Ownership {
  uid: number;
  gid: number;
  /** `PERMISSIONS`: owner/group/other × use/manage/admin (a missing bit grants nothing). */
  permissions: PermissionFlags;
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

const oned = (message: string, cause?: unknown) =>
  new DriverError('ONED', message, cause === undefined ? {} : { cause });

/** Leaf text, white space around it trimmed; '' when absent. */
const text = (v: unknown): string => textOf(v)?.trim() ?? '';

function required(v: unknown, what: string): number {
  const n = intValue(v);
  if (n === undefined) throw new DriverError('ONED', `${what} missing in oned's answer`);
  return n;
}

const yes = (v: unknown) => text(v).toUpperCase() === 'YES';

/** Parses `onevm show -x` output (also the base64-decoded XML of pre/post/failmigrate). */
export function parseVmXml(xml: string): VmInfo {
  const vm = asNode(parseXml(xml, 'VM XML', oned).VM);
  const template = asNode(vm.TEMPLATE);
  const disks = listOf(template.DISK).map((d): VmDisk => {
    const disk = asNode(d);
    const size = intValue(disk.SIZE);
    return {
      id: required(disk.DISK_ID, 'DISK_ID'),
      sizeMiB: size,
      type: text(disk.TYPE),
      fs: text(disk.FS),
      format: text(disk.FORMAT),
      source: text(disk.SOURCE),
      datastoreId: intValue(disk.DATASTORE_ID),
      tmMad: text(disk.TM_MAD),
      persistent: yes(disk.PERSISTENT),
      clone: yes(disk.CLONE),
      readonly: yes(disk.READONLY),
    };
  });
  const history = listOf(asNode(vm.HISTORY_RECORDS).HISTORY).map(asNode);
  const last = history[history.length - 1];
  return {
    id: required(vm.ID, 'VM ID'),
    state: intValue(vm.STATE) ?? -1,
    lcmState: intValue(vm.LCM_STATE) ?? -1,
    disks,
    lastHost: last ? text(last.HOSTNAME) || undefined : undefined,
    systemDsId: last ? intValue(last.DS_ID) : undefined,
    // Optional: the TM actions never need it, so a VM document without GID must still parse.
    owner: intValue(vm.UID) === undefined || intValue(vm.GID) === undefined ? undefined : ownership(vm),
    deployId: text(vm.DEPLOY_ID) || undefined,
    fsFreeze: text(asNode(asNode(vm.BACKUPS).BACKUP_CONFIG).FS_FREEZE) || undefined,
  };
}

/** UID, GID and `<PERMISSIONS>` of an object element; missing permissions mean none. */
function ownership(node: XmlNode): Ownership {
  return {
    uid: required(node.UID, 'UID'),
    gid: required(node.GID, 'GID'),
    permissions: permissionFlags(node.PERMISSIONS),
  };
}

/** Parses `oneimage show -x`. */
export function parseImageXml(xml: string): ImageInfo {
  const image = asNode(parseXml(xml, 'image XML', oned).IMAGE);
  return {
    id: required(image.ID, 'IMAGE ID'),
    name: text(image.NAME),
    owner: ownership(image),
    source: text(image.SOURCE),
    persistent: text(image.PERSISTENT).trim() === '1',
    state: intValue(image.STATE) ?? -1,
    datastoreId: intValue(image.DATASTORE_ID),
    runningVms: intValue(image.RUNNING_VMS) ?? 0,
    vmIds: listOf(asNode(image.VMS).ID)
      .map(intValue)
      .filter((n): n is number => n !== undefined),
    sizeMiB: intValue(image.SIZE),
  };
}

/** Parses `oneuser show -x`. */
export function parseUserXml(xml: string): UserInfo {
  const user = asNode(parseXml(xml, 'user XML', oned).USER);
  const gid = required(user.GID, 'USER GID');
  const groups = listOf(asNode(user.GROUPS).ID)
    .map(intValue)
    .filter((n): n is number => n !== undefined);
  return { id: required(user.ID, 'USER ID'), gid, groups: groups.includes(gid) ? groups : [gid, ...groups] };
}

/** Parses a `<DATASTORE>` element (from `onedatastore show -x` or a DS_DRIVER_ACTION_DATA). */
function parseDatastoreNode(node: XmlNode): DatastoreInfo {
  const template: Record<string, string> = {};
  // Simple attributes only: vector attributes and repeated ones are left out.
  for (const [key, value] of Object.entries(asNode(node.TEMPLATE))) {
    if (key !== '#text' && (typeof value === 'string' || typeof value === 'number'))
      template[key] = text(value);
  }
  return {
    id: required(node.ID, 'DATASTORE ID'),
    name: text(node.NAME),
    type: intValue(node.TYPE) ?? -1,
    tmMad: text(node.TM_MAD),
    template,
    clusterIds: listOf(asNode(node.CLUSTERS).ID)
      .map(intValue)
      .filter((n): n is number => n !== undefined),
  };
}

export function parseDatastoreXml(xml: string): DatastoreInfo {
  return parseDatastoreNode(asNode(parseXml(xml, 'datastore XML', oned).DATASTORE));
}

/**
 * The system-DS MONITOR payload: the datastore, DATASTORE_LOCATION and whether oned asks for per-VM
 * disk sizes this cycle (`MONITOR_VM_DISKS` = 1).
 */
export function parseMonitorPayload(xml: string): {
  datastore: DatastoreInfo;
  datastoreLocation: string;
  monitorVmDisks: boolean;
} {
  const root = asNode(parseXml(xml, 'DS_DRIVER_ACTION_DATA', oned).DS_DRIVER_ACTION_DATA);
  return {
    datastore: parseDatastoreNode(asNode(root.DATASTORE)),
    datastoreLocation: text(root.DATASTORE_LOCATION),
    monitorVmDisks: text(root.MONITOR_VM_DISKS).trim() === '1',
  };
}

/** Parses `onehost list -x`. */
export function parseHostPoolXml(xml: string): HostInfo[] {
  const pool = asNode(parseXml(xml, 'host pool XML', oned).HOST_POOL);
  return listOf(pool.HOST).map((h) => {
    const host = asNode(h);
    return {
      id: required(host.ID, 'HOST ID'),
      name: text(host.NAME),
      state: intValue(host.STATE) ?? -1,
      clusterId: intValue(host.CLUSTER_ID),
    };
  });
}
