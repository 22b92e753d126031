import { DsError } from './errors.js';
import { MiB } from './image-lv.js';

/*
 * Sizes quotas can trust (design §5): oned charges an image the SIZE `stat` answered, so `cp` may
 * not import more. Whatever `cp` reads — the front-end file, the GFS2 file, the download — is probed
 * again and refused when its virtual size, rounded up to MiB as `stat` rounds it, exceeds SIZE.
 */

/** The refusal of an image of `virtualBytes` for an image whose SIZE is `sizeMiB`, or `undefined`. */
export function sizeRefusal(virtualBytes: number, sizeMiB: number): string | undefined {
  const mib = Math.max(1, Math.ceil(virtualBytes / MiB));
  if (mib <= sizeMiB) return undefined;
  return `virtual size ${mib} MiB exceeds the image's SIZE of ${sizeMiB} MiB (what stat measured)`;
}

/** Throws `TOO_LARGE` (`cp: <what>: virtual size … exceeds …`) when `sizeRefusal` refuses. */
export function assertWithinSize(virtualBytes: number, sizeMiB: number, what: string): void {
  const refusal = sizeRefusal(virtualBytes, sizeMiB);
  if (refusal !== undefined) throw new DsError('TOO_LARGE', `cp: ${refusal}: ${what}`);
}
