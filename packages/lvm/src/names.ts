import { invalidArgument } from './errors.js';

/**
 * LVM's own name rules (lvm2 `validate_name`, `apply_lvname_restrictions`): characters
 * `[A-Za-z0-9+_.-]`, not starting with `-`, not `.` or `..`, at most 127 bytes. LV names may not
 * start with `snapshot`/`pvmove` nor contain the suffixes LVM uses for hidden sub-LVs.
 */
const NAME_CHARS = /^[A-Za-z0-9+_.-]+$/;
const MAX_NAME = 127;
const RESERVED_LV_PREFIXES = ['snapshot', 'pvmove'];
const RESERVED_LV_PARTS = [
  '_cdata',
  '_cmeta',
  '_corig',
  '_cpool',
  '_cvol',
  '_wcorig',
  '_mimage',
  '_mlog',
  '_pmspare',
  '_rimage',
  '_rmeta',
  '_tdata',
  '_tmeta',
  '_vdata',
  '_vorigin',
];
/** lvm2 tag characters; a tag may not start with `-` (it would read as an option). */
const TAG_CHARS = /^[A-Za-z0-9_+.\-/=!:&#]+$/;
const MAX_TAG = 1024;
/** device-mapper's DM_NAME_LEN (128) minus the NUL. */
const MAX_DM_NAME = 127;

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function checkCommonName(kind: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument(`${kind} name is empty`);
  if (name.length > MAX_NAME) throw invalidArgument(`${kind} name is longer than ${MAX_NAME} characters`);
  if (!NAME_CHARS.test(name))
    throw invalidArgument(`${kind} name ${show(name)} has characters other than A-Z a-z 0-9 + _ . -`);
  if (name.startsWith('-')) throw invalidArgument(`${kind} name ${show(name)} starts with "-"`);
  if (name === '.' || name === '..') throw invalidArgument(`${kind} name ${show(name)} is reserved`);
}

/** Throws `INVALID_ARGUMENT` unless LVM would accept `name` as a VG name. */
export function assertVgName(name: unknown): asserts name is string {
  checkCommonName('VG', name);
}

/** Throws `INVALID_ARGUMENT` unless LVM would accept `name` as an LV name. */
export function assertLvName(name: unknown): asserts name is string {
  checkCommonName('LV', name);
  for (const prefix of RESERVED_LV_PREFIXES)
    if (name.startsWith(prefix))
      throw invalidArgument(`LV name ${show(name)} starts with reserved "${prefix}"`);
  for (const part of RESERVED_LV_PARTS)
    if (name.includes(part)) throw invalidArgument(`LV name ${show(name)} contains reserved "${part}"`);
}

/** Throws `INVALID_ARGUMENT` unless `tag` is a valid LVM tag. */
export function assertTag(tag: unknown): asserts tag is string {
  if (typeof tag !== 'string' || tag.length === 0) throw invalidArgument('tag is empty');
  if (tag.length > MAX_TAG) throw invalidArgument(`tag is longer than ${MAX_TAG} characters`);
  if (!TAG_CHARS.test(tag))
    throw invalidArgument(`tag ${show(tag)} has characters LVM does not allow in tags`);
  if (tag.startsWith('-')) throw invalidArgument(`tag ${show(tag)} starts with "-"`);
}

export const isVgName = (name: unknown): name is string => passes(() => assertVgName(name));
export const isLvName = (name: unknown): name is string => passes(() => assertLvName(name));

function passes(check: () => void): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

/** OpenNebula ids: canonical decimal (no sign, no leading zeros, no exponent), safe integer. */
function idString(kind: string, id: unknown): string {
  const text = typeof id === 'number' ? String(id) : id;
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw invalidArgument(`${kind} ${show(id)} is not a non-negative integer`);
  return text;
}

/** `lv-one-<vm>-<disk>`: a VM-owned disk LV (non-persistent copy or volatile disk). */
export function vmDiskLvName(vmId: number | string, diskId: number | string): string {
  return `lv-one-${idString('VM id', vmId)}-${idString('disk id', diskId)}`;
}

/** `lv-oneimg-<image>`: the LV of an image of an image datastore. */
export function imageLvName(imageId: number | string): string {
  return `lv-oneimg-${idString('image id', imageId)}`;
}

export type ParsedLvName =
  | { kind: 'vm-disk'; vmId: number; diskId: number }
  | { kind: 'image'; imageId: number }
  | { kind: 'other'; name: string };

/** Which of the driver's LV kinds `name` is; `other` for anything else (not an error). */
export function parseLvName(name: string): ParsedLvName {
  const vm = /^lv-one-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$/.exec(name);
  if (vm && Number.isSafeInteger(Number(vm[1])) && Number.isSafeInteger(Number(vm[2])))
    return { kind: 'vm-disk', vmId: Number(vm[1]), diskId: Number(vm[2]) };
  const image = /^lv-oneimg-(0|[1-9][0-9]*)$/.exec(name);
  if (image && Number.isSafeInteger(Number(image[1]))) return { kind: 'image', imageId: Number(image[1]) };
  return { kind: 'other', name };
}

export interface LvRef {
  vg: string;
  lv: string;
}

/** `<vg>/<lv>`, the image SOURCE string; both names validated. */
export function formatSource(ref: LvRef): string {
  assertVgName(ref.vg);
  assertLvName(ref.lv);
  return `${ref.vg}/${ref.lv}`;
}

/** Parses `<vg>/<lv>` (also `/dev/<vg>/<lv>`); throws `INVALID_ARGUMENT` on anything else. */
export function parseSource(source: string): LvRef {
  if (typeof source !== 'string') throw invalidArgument('source is not a string');
  const parts = source.replace(/^\/dev\//, '').split('/');
  if (parts.length !== 2) throw invalidArgument(`source ${show(source)} is not <vg>/<lv>`);
  const [vg, lv] = parts as [string, string];
  assertVgName(vg);
  assertLvName(lv);
  return { vg, lv };
}

/** `/dev/<vg>/<lv>`, the udev-made symlink. */
export function devicePath(ref: LvRef): string {
  return `/dev/${formatSource(ref)}`;
}

/** device-mapper name: every `-` doubled, VG and LV joined by a single `-`. */
export function dmName(ref: LvRef): string {
  formatSource(ref);
  const name = `${ref.vg.replaceAll('-', '--')}-${ref.lv.replaceAll('-', '--')}`;
  if (name.length > MAX_DM_NAME)
    throw invalidArgument(
      `device-mapper name of ${ref.vg}/${ref.lv} is longer than ${MAX_DM_NAME} characters`,
    );
  return name;
}

/** `/dev/mapper/<dm name>`. */
export function dmPath(ref: LvRef): string {
  return `/dev/mapper/${dmName(ref)}`;
}

/**
 * Inverse of `dmName`. Dashes come in pairs inside each part and a single `-` separates them; as no
 * LV name starts with `-`, `a---b` is VG `a-`, LV `b`. Layer devices (`…-real`, `…-cow`, `…-tpool`)
 * and anything else that is not the device of an LV are refused with `INVALID_ARGUMENT`.
 */
export function parseDmName(name: string): LvRef {
  if (typeof name !== 'string') throw invalidArgument('device-mapper name is not a string');
  const m = /^((?:[^-]|--)+)-((?:[^-]|--)+)$/.exec(name.replace(/^\/dev\/mapper\//, ''));
  if (!m?.[1] || !m[2]) throw invalidArgument(`${show(name)} is not a device-mapper name of an LV`);
  const ref = { vg: m[1].replaceAll('--', '-'), lv: m[2].replaceAll('--', '-') };
  assertVgName(ref.vg);
  assertLvName(ref.lv);
  return ref;
}

/** Host short names as they appear in tags (`one_active_<host>`). */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The tag recording that an LV is active on `host` for a VM (design §3, reboot re-activation). */
export function activeTag(host: string): string {
  if (typeof host !== 'string' || !HOST_NAME.test(host))
    throw invalidArgument(`host name ${show(host)} is invalid`);
  const tag = `one_active_${host}`;
  assertTag(tag);
  return tag;
}

/** The host of a `one_active_<host>` tag, else `null`. */
export function parseActiveTag(tag: string): string | null {
  const m = /^one_active_(.+)$/.exec(tag);
  return m?.[1] && HOST_NAME.test(m[1]) ? m[1] : null;
}

/** Validates a size in bytes: a positive safe integer that is a multiple of 512 (LVM refuses others). */
export function assertSizeBytes(bytes: unknown, what = 'size'): asserts bytes is number {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes <= 0)
    throw invalidArgument(`${what} ${show(bytes)} is not a positive integer number of bytes`);
  if (bytes % 512 !== 0) throw invalidArgument(`${what} ${bytes} is not a multiple of 512 bytes`);
}
