/*
 * The DS action's input: argv + stdin → id + XML (`decodeActionInput`), and the
 * `DS_DRIVER_ACTION_DATA` document → typed objects (`parseDsActionData`).
 *
 * Additions to the agreed interface (all additive, nothing renamed):
 * * `parseDsActionData(xml, action?)`: with an action it also checks that the payload has what that
 *   action needs (IMAGE with ID/UID/GID for cp, mkfs, rm, clone, snap_*; IMAGE/PATH for stat) —
 *   oned's STAT payload has a minimal IMAGE and MONITOR none, so without an action absent numbers
 *   are -1 (oned's own default in `Image::from_xml`) and an absent IMAGE is an empty one.
 * * `ImageData.runningVmCount` (`RUNNING_VMS`, a count in oned's XML) next to `runningVms` (the ids
 *   of `<VMS><ID>`), `ImageData.diskType`, `ImageData.permissions`; `DatastoreData.type`, `dsMad`,
 *   `tmMad`.
 * The XML itself is read by driver-runtime's `one-xml.ts` (parser, accessors, permission flags).
 */
import {
  asNode,
  intOf,
  listOf,
  MAX_PAYLOAD_BYTES,
  type PermissionFlags,
  parseCheckedXml,
  permissionFlags,
  show,
  simpleValues,
  textOf,
  type XmlFail,
  type XmlNode,
} from '@one-gfs2clvm/driver-runtime';
import { DsError } from './errors.js';

/** Image types by oned's numeric `<TYPE>` (`Image::ImageType`). */
export const IMAGE_TYPES = [
  'OS',
  'CDROM',
  'DATABLOCK',
  'KERNEL',
  'RAMDISK',
  'CONTEXT',
  'BACKUP',
  'FILESYSTEM',
] as const;

export interface ImageData {
  /** -1 when the payload has no IMAGE/ID (STAT, MONITOR). */
  id: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  name: string;
  /** OS, CDROM, DATABLOCK, KERNEL, RAMDISK, CONTEXT (BACKUP, FILESYSTEM); '' when absent. */
  type: string;
  persistent: boolean;
  /** oned's `Image::ImageState` (4 LOCKED while cp runs, 1 READY, 2 USED …); -1 when absent. */
  state: number;
  /** As oned sent it (not trimmed): parse it with `parseImageSource`. */
  path: string;
  source: string;
  format: string;
  /** `<FS>` (6.x+), `<FSTYPE>` before. */
  fs: string;
  /** `<SIZE>` in MiB; 0 when absent (oned's default). */
  sizeMiB: number;
  /** `<CLONING_ID>` unless -1. */
  cloningId?: number;
  /** Ids of the VMs using the image (`<VMS><ID>`), in whatever state they are. */
  runningVms: number[];
  /** `<RUNNING_VMS>`: how many VMs use the image (oned's count; 0 when absent). */
  runningVmCount: number;
  /** `<DISK_TYPE>` (0 FILE, 1 CD_ROM, 2 BLOCK …); -1 when absent. */
  diskType: number;
  /** `<PERMISSIONS>`, absent in STAT payloads. */
  permissions: PermissionFlags | undefined;
  /** Simple attributes of `<TEMPLATE>` (first value of repeated ones; vector attributes left out). */
  template: Record<string, string>;
}

export interface DatastoreData {
  id: number;
  name: string;
  /** As sent (`/var/lib/one//datastores/101`: note oned's double slash). */
  basePath: string;
  /** `TEMPLATE/BRIDGE_LIST` split on white space. */
  bridgeList: string[];
  clusterIds: number[];
  /** 0 image, 1 system, 2 file, 3 backup; -1 when absent. */
  type: number;
  dsMad: string;
  tmMad: string;
  template: Record<string, string>;
}

export interface DsActionData {
  image: ImageData;
  datastore: DatastoreData;
  /** Other simple children of the root: DATASTORE_LOCATION, MONITOR_VM_DISKS, SOURCE_BRIDGE_LIST … */
  extra: Record<string, string>;
}

/**
 * Largest decoded payload accepted (an image used by thousands of VMs lists them all in `<VMS>`):
 * driver-runtime's, which also bounds what every action of both drivers reads from stdin.
 */
export { MAX_PAYLOAD_BYTES };

const MAX_ID = 2_147_483_647;
/** Largest `<SIZE>` accepted, in MiB (4 PiB; keeps byte counts exact in a double). */
export const MAX_SIZE_MIB = 2 ** 32;

const ID = /^(?:0|[1-9][0-9]{0,9})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * argv and stdin of a DS action script → the id and the XML. OpenNebula ≥ 6.8 runs
 * `<action> <id>` with the base64 payload on stdin (no newline); ≤ 6.6 ran `<action> <base64> <id>`
 * with an empty stdin. The id must be decimal digits (an image id, a datastore id, or STAT's
 * request id); the payload strict base64 of UTF-8 XML, at most `MAX_PAYLOAD_BYTES` decoded.
 */
export function decodeActionInput(argv: string[], stdin: string): { id: string; xml: string } {
  let id: string;
  let encoded: string;
  if (argv.length === 1) {
    id = argv[0] ?? '';
    encoded = stdin.replace(/\r?\n$/, '');
  } else if (argv.length === 2) {
    encoded = argv[0] ?? '';
    id = argv[1] ?? '';
    if (stdin.trim() !== '') {
      throw new DsError('USAGE', 'payload given both as argument and on stdin');
    }
  } else {
    throw new DsError(
      'USAGE',
      `expected <id> (payload on stdin) or <base64> <id>, got ${argv.length} arguments`,
    );
  }
  if (!ID.test(id) || Number(id) > MAX_ID) {
    throw new DsError('INVALID_ARGUMENT', `id ${show(id)} is not an id (0…${MAX_ID})`);
  }
  if (encoded === '') throw new DsError('INVALID_ARGUMENT', 'no DS_DRIVER_ACTION_DATA (empty payload)');
  if (encoded.length > Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4) {
    throw new DsError('INVALID_ARGUMENT', `payload over ${MAX_PAYLOAD_BYTES} bytes`);
  }
  if (!BASE64.test(encoded)) {
    throw new DsError('INVALID_ARGUMENT', 'payload is not base64 (DS_DRIVER_ACTION_DATA expected)');
  }
  let xml: string;
  try {
    xml = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'));
  } catch (error) {
    throw new DsError('INVALID_ARGUMENT', 'payload is not UTF-8 text', { cause: error });
  }
  return { id, xml };
}

/** A malformed payload: INVALID_ARGUMENT, the parser's error (if any) as the cause. */
const invalid: XmlFail = (message, cause) =>
  new DsError('INVALID_ARGUMENT', message, cause === undefined ? {} : { cause });

function imageType(value: unknown): string {
  const text = textOf(value)?.trim();
  if (text === undefined || text === '') return '';
  if (/^[0-9]+$/.test(text)) {
    const name = IMAGE_TYPES[Number(text)];
    if (name !== undefined) return name;
  } else if ((IMAGE_TYPES as readonly string[]).includes(text.toUpperCase())) {
    return text.toUpperCase();
  }
  throw invalid(`IMAGE/TYPE ${show(text)} is not an image type`);
}

function flag(value: unknown, what: string): boolean {
  const text = textOf(value)?.trim().toUpperCase();
  if (text === undefined || text === '' || text === '0' || text === 'NO') return false;
  if (text === '1' || text === 'YES') return true;
  throw invalid(`${what} ${show(text)} is not 0/1`);
}

function idList(value: unknown, what: string): number[] {
  return listOf(asNode(value).ID).map((id) => intOf(id, what, invalid, 0, MAX_ID) as number);
}

/** The `<IMAGE>` element of a DS_DRIVER_ACTION_DATA. */
function parseImageNode(node: XmlNode): ImageData {
  const num = (key: string, min = -1, max = MAX_ID) => intOf(node[key], `IMAGE/${key}`, invalid, min, max);
  const str = (key: string) => textOf(node[key]) ?? '';
  const cloningId = num('CLONING_ID') ?? -1;
  const runningVms = idList(node.VMS, 'IMAGE/VMS/ID');
  return {
    id: num('ID') ?? -1,
    uid: num('UID') ?? -1,
    gid: num('GID') ?? -1,
    uname: str('UNAME'),
    gname: str('GNAME'),
    name: str('NAME'),
    type: imageType(node.TYPE),
    persistent: flag(node.PERSISTENT, 'IMAGE/PERSISTENT'),
    state: num('STATE') ?? -1,
    path: str('PATH'),
    source: str('SOURCE'),
    format: str('FORMAT'),
    fs: textOf(node.FS) ?? str('FSTYPE'),
    sizeMiB: num('SIZE', 0, MAX_SIZE_MIB) ?? 0,
    ...(cloningId >= 0 ? { cloningId } : {}),
    runningVms,
    runningVmCount: num('RUNNING_VMS', 0) ?? runningVms.length,
    diskType: num('DISK_TYPE') ?? -1,
    permissions: node.PERMISSIONS === undefined ? undefined : permissionFlags(node.PERMISSIONS, invalid),
    template: simpleValues(asNode(node.TEMPLATE)),
  };
}

/** The `<DATASTORE>` element of a DS_DRIVER_ACTION_DATA. */
function parseDatastoreNode(node: XmlNode): DatastoreData {
  const template = simpleValues(asNode(node.TEMPLATE));
  const id = intOf(node.ID, 'DATASTORE/ID', invalid, 0, MAX_ID);
  if (id === undefined) throw invalid('DATASTORE/ID missing');
  return {
    id,
    name: textOf(node.NAME) ?? '',
    basePath: textOf(node.BASE_PATH) ?? '',
    bridgeList: (template.BRIDGE_LIST ?? '').split(/\s+/).filter((host) => host !== ''),
    clusterIds: idList(node.CLUSTERS, 'DATASTORE/CLUSTERS/ID'),
    type: intOf(node.TYPE, 'DATASTORE/TYPE', invalid, -1, MAX_ID) ?? -1,
    dsMad: textOf(node.DS_MAD) ?? '',
    tmMad: textOf(node.TM_MAD) ?? '',
    template,
  };
}

/** What each action needs from the IMAGE element. */
const NEEDS_IMAGE = new Set([
  'cp',
  'mkfs',
  'rm',
  'clone',
  'snap_delete',
  'snap_revert',
  'snap_flatten',
  'export',
]);

/**
 * Parses a decoded `DS_DRIVER_ACTION_DATA`. With `action`, also refuses a payload that lacks what
 * the action needs (IMAGE with ID, UID, GID; STAT: IMAGE/PATH).
 */
export function parseDsActionData(xml: string, action?: string): DsActionData {
  const doc = parseCheckedXml(xml, 'DS_DRIVER_ACTION_DATA', invalid, MAX_PAYLOAD_BYTES);
  const root = doc.DS_DRIVER_ACTION_DATA;
  if (
    root === undefined ||
    Array.isArray(root) ||
    Object.keys(doc).some((k) => k !== 'DS_DRIVER_ACTION_DATA' && k !== '#text')
  ) {
    throw invalid('payload is not a DS_DRIVER_ACTION_DATA document');
  }
  const node = asNode(root);
  if (node.DATASTORE === undefined) throw invalid('DS_DRIVER_ACTION_DATA has no DATASTORE');
  if (Array.isArray(node.IMAGE) || Array.isArray(node.DATASTORE)) {
    throw invalid('DS_DRIVER_ACTION_DATA has more than one IMAGE or DATASTORE');
  }
  const image = parseImageNode(asNode(node.IMAGE));
  const datastore = parseDatastoreNode(asNode(node.DATASTORE));
  if (action !== undefined) {
    if (NEEDS_IMAGE.has(action) && (image.id < 0 || image.uid < 0 || image.gid < 0)) {
      throw invalid(`${action}: payload has no IMAGE with ID, UID and GID`);
    }
    if (action === 'stat' && image.path === '') throw invalid('stat: payload has no IMAGE/PATH');
  }
  return { image, datastore, extra: simpleValues(node, ['IMAGE', 'DATASTORE']) };
}
