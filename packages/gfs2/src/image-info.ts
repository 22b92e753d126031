import { Gfs2Error } from './errors.js';
import { show } from './show.js';

/**
 * Formats accepted by default: what OpenNebula users import (raw, qcow2) and the single-file
 * formats of other hypervisors that `qemu-img convert` turns into raw. Every other block driver
 * of qemu is attack surface nobody here needs (bochs, cloop, dmg, parallels, qed, luks …).
 */
export const DEFAULT_IMAGE_FORMATS: readonly string[] = ['raw', 'qcow2', 'vmdk', 'vdi', 'vhdx', 'vpc'];

/** The part of `qemu-img info --output=json` that decides whether an image is safe to read. */
export interface QemuImgInfo {
  filename: string;
  format: string;
  virtualSize: number;
  actualSize: number | undefined;
  encrypted: boolean;
  /** `backing-filename` or `full-backing-filename`, when the image names a backing file. */
  backingFile: string | undefined;
  /** qcow2 `format-specific.data.data-file` (an external data file). */
  dataFile: string | undefined;
  /** VMDK extents (`format-specific.data.extents[].filename`); `undefined` for other formats. */
  vmdkExtents: string[] | undefined;
  /** qcow2's `corrupt` flag. */
  corrupt: boolean;
  /** Child nodes other than `file` (qemu ≥ 8 lists them: `backing`, `data-file`, `extents.N`). */
  children: { name: string; filename: string | undefined }[];
}

/** The answer of a successful probe. */
export interface ImageProbe {
  /** The format to pass explicitly (`-f`) to every later `qemu-img` on this image. */
  format: string;
  /** Bytes the guest sees. */
  virtualSize: number;
  /** Bytes allocated on the host's storage, when qemu-img knows. */
  actualSize: number | undefined;
  filename: string;
}

export interface ImageSafetyOptions {
  /** Formats accepted; default `DEFAULT_IMAGE_FORMATS`. */
  allowedFormats?: readonly string[];
}

/** Parses `qemu-img info --output=json` into the fields that matter; anything malformed is `PROBE_FAILED`. */
export function parseQemuImgInfo(json: string): QemuImgInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Gfs2Error('PROBE_FAILED', `qemu-img info printed no JSON: ${show(json.trim())}`);
  }
  if (!isRecord(parsed)) throw new Gfs2Error('PROBE_FAILED', 'qemu-img info printed no JSON object');
  const format = parsed.format;
  const filename = parsed.filename;
  const virtualSize = parsed['virtual-size'];
  const actualSize = parsed['actual-size'];
  if (typeof format !== 'string' || format === '') {
    throw new Gfs2Error('PROBE_FAILED', 'qemu-img info gave no format');
  }
  if (typeof filename !== 'string') throw new Gfs2Error('PROBE_FAILED', 'qemu-img info gave no filename');
  if (!isByteCount(virtualSize)) {
    throw new Gfs2Error('PROBE_FAILED', `qemu-img info gave virtual-size ${show(String(virtualSize))}`);
  }
  const specific = isRecord(parsed['format-specific']) ? parsed['format-specific'] : {};
  const data = isRecord(specific.data) ? specific.data : {};
  const backing = parsed['full-backing-filename'] ?? parsed['backing-filename'];
  return {
    filename,
    format,
    virtualSize,
    actualSize: isByteCount(actualSize) ? actualSize : undefined,
    encrypted: parsed.encrypted === true,
    backingFile: backing === undefined ? undefined : String(backing),
    dataFile: data['data-file'] === undefined ? undefined : String(data['data-file']),
    vmdkExtents:
      format === 'vmdk' && Array.isArray(data.extents)
        ? data.extents.map((extent) => (isRecord(extent) ? String(extent.filename) : ''))
        : undefined,
    corrupt: data.corrupt === true,
    children: Array.isArray(parsed.children)
      ? parsed.children.filter(isRecord).map((child) => ({
          name: String(child.name),
          filename:
            isRecord(child.info) && typeof child.info.filename === 'string' ? child.info.filename : undefined,
        }))
      : [],
  };
}

/**
 * Refuses an image that makes qemu open other files: a backing file, a qcow2 external data file, a
 * VMDK whose extents are not the file itself (a descriptor can name `/etc/shadow` as its extent),
 * then formats outside the allowed list, encrypted and corrupt images. Returns what to use next.
 */
export function assertSafeImage(info: QemuImgInfo, options: ImageSafetyOptions = {}): ImageProbe {
  const name = show(info.filename);
  if (info.backingFile !== undefined) {
    throw new Gfs2Error('UNSAFE_IMAGE', `unsafe image: backing file ${show(info.backingFile)} in ${name}`);
  }
  if (info.dataFile !== undefined) {
    throw new Gfs2Error('UNSAFE_IMAGE', `unsafe image: external data file ${show(info.dataFile)} in ${name}`);
  }
  for (const child of info.children) {
    if (child.name === 'file') continue;
    if (child.name === 'backing' || child.name === 'data-file' || child.filename !== info.filename) {
      const what = child.filename === undefined ? child.name : `${child.name} ${show(child.filename)}`;
      throw new Gfs2Error('UNSAFE_IMAGE', `unsafe image: it opens ${what} (${name})`);
    }
  }
  if (info.format === 'vmdk') {
    const extents = info.vmdkExtents ?? [];
    if (extents.length !== 1) {
      throw new Gfs2Error('UNSAFE_IMAGE', `unsafe image: VMDK with ${extents.length} extents in ${name}`);
    }
    const [extent = ''] = extents;
    if (extent !== info.filename) {
      throw new Gfs2Error(
        'UNSAFE_IMAGE',
        `unsafe image: VMDK extent ${show(extent)} is another file (${name})`,
      );
    }
  }
  const allowed = options.allowedFormats ?? DEFAULT_IMAGE_FORMATS;
  if (!allowed.includes(info.format)) {
    throw new Gfs2Error(
      'UNSUPPORTED_IMAGE',
      `image format ${show(info.format)} not accepted (${allowed.join(', ')}): ${name}`,
    );
  }
  if (info.encrypted) throw new Gfs2Error('UNSUPPORTED_IMAGE', `encrypted image not supported: ${name}`);
  if (info.corrupt) throw new Gfs2Error('UNSUPPORTED_IMAGE', `image marked corrupt by qemu: ${name}`);
  return {
    format: info.format,
    virtualSize: info.virtualSize,
    actualSize: info.actualSize,
    filename: info.filename,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isByteCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
