import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { qemuImgInfoArgv } from './argv.js';
import { Gfs2Error } from './errors.js';
import { commandFailed, runOnHost } from './exec.js';
import { assertSafeImage, DEFAULT_IMAGE_FORMATS, type ImageProbe, parseQemuImgInfo } from './image-info.js';
import { normalizeAbsolutePath } from './paths.js';
import { show } from './show.js';

/**
 * `qemu-img info` on a crafted image can block (a FIFO, a VMDK extent naming a device, a hung
 * GFS2): give it a limit.
 */
export const DEFAULT_PROBE_TIMEOUT_MS = 60_000;

export interface ProbeImageOptions {
  /**
   * The format, when it is known from a trusted source (an LV this driver wrote is `raw`). Then
   * qemu-img is told (`-f`) instead of guessing from the first bytes, which the image's author
   * (a guest writing to its disk) controls.
   */
  format?: string;
  /**
   * `-U`: read the metadata of an image that a running qemu holds open for writing. Off by default:
   * such metadata can be mid-update, and the drivers never probe an image in use.
   */
  forceShare?: boolean;
  /** Formats accepted; default `DEFAULT_IMAGE_FORMATS`. */
  allowedFormats?: readonly string[];
  /** Default `DEFAULT_PROBE_TIMEOUT_MS`. */
  timeoutMs?: number;
}

/**
 * Probes an untrusted image on `runner`'s host with `qemu-img info --output=json` and refuses
 * what could make a later `qemu-img convert` read other files (see `assertSafeImage`). Every later
 * command on the image must pass the returned `format` with `-f`, so that nothing is guessed again.
 */
export async function probeImage(
  runner: Runner,
  path: string,
  options: ProbeImageOptions = {},
): Promise<ImageProbe> {
  // Absolute: qemu reads `<protocol>:…` (nbd:, json:, http:) in a name that does not start with `/`.
  const file = normalizeAbsolutePath(path, 'image path');
  const allowedFormats = options.allowedFormats ?? DEFAULT_IMAGE_FORMATS;
  if (options.format !== undefined && !allowedFormats.includes(options.format)) {
    throw new Gfs2Error('UNSUPPORTED_IMAGE', `image format ${show(options.format)} not accepted`, {
      path: file,
    });
  }
  const argv = qemuImgInfoArgv(file, {
    ...(options.format === undefined ? {} : { format: options.format }),
    ...(options.forceShare ? { forceShare: true } : {}),
  });
  const result = await runOnHost(runner, argv, { timeoutMs: options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS });
  if (result.exitCode !== 0) throw commandFailed(result, `qemu-img info ${file}`, 'PROBE_FAILED', file);
  try {
    const probe = assertSafeImage(parseQemuImgInfo(result.stdout), { allowedFormats });
    if (options.format !== undefined && probe.format !== options.format) {
      throw new Gfs2Error('PROBE_FAILED', `qemu-img info reported ${probe.format} for -f ${options.format}`);
    }
    return probe;
  } catch (error) {
    if (!Gfs2Error.isInstance(error)) throw error;
    throw new Gfs2Error(error.code, `${error.message} on ${runner.host}`, {
      host: runner.host,
      path: file,
      cause: error,
    });
  }
}
