/*
 * The virtual size of an image behind a URL without downloading it, for `stat` (and `cp`'s check
 * before it downloads): the first `PROBE_HEAD_BYTES` and the last `PROBE_TAIL_BYTES` are fetched
 * with Range requests through the vetted connection of `url-fetch.ts`, written into a sparse file
 * of the image's full length on the front-end, and that file is probed with `qemu-img info` like a
 * front-end file (same safety checks). Every format's size and tables are there: qcow2, VDI, VHDX
 * and sparse VMDK keep their headers at the start (VHDX's metadata within the first 4 MiB), a
 * stream-optimized VMDK its footer at the end, raw (and fixed VHD, which qemu sees as raw) are their
 * length. The holes read as zeros; `qemu-img info` does not read the data.
 *
 * `qemu-img info` over http(s) itself (the curl block driver) would bypass the address checks: not
 * used. A server without Range support gets one plain GET whose first bytes are read, then closed.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type ImageProbe, probeImage } from '@one-gfs2clvm/gfs2';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { DsError } from './errors.js';
import { fetchUrl, shortUrl, type UrlFetchOptions } from './url-fetch.js';

export const PROBE_HEAD_BYTES = 8 * 2 ** 20;
export const PROBE_TAIL_BYTES = 64 * 2 ** 10;
/** The header requests are small: 10 minutes in all is generous, a minute without a byte too long. */
const PROBE_TIMEOUT_MS = 600_000;
const PROBE_IDLE_MS = 60_000;

/** Reads at most `max` bytes of `body`, then destroys it. */
async function readAtMost(body: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= max) break;
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, max);
}

/** One ranged GET: the bytes and the whole size the server states (206: Content-Range; 200: Content-Length). */
async function fetchPart(
  url: URL,
  start: number,
  max: number,
  options: UrlFetchOptions,
  rangesOnly = false,
): Promise<{ bytes: Buffer; total: number | undefined; ranged: boolean; url: URL }> {
  const response = await fetchUrl(url, { ...options, range: { start, end: start + max - 1 } });
  const ranged = response.status === 206;
  if (!ranged && rangesOnly) {
    response.body.destroy();
    throw new DsError('UNSUPPORTED', `${options.action} ${shortUrl(url)}: no answer to a Range request`);
  }
  if (ranged && response.range?.start !== start) {
    response.body.destroy();
    throw new DsError('EXEC', `download ${shortUrl(url)}: answered another range than bytes ${start}-`);
  }
  if (!ranged && start > 0) {
    response.body.destroy();
    return { bytes: Buffer.alloc(0), total: response.length, ranged, url: response.url };
  }
  const bytes = await readAtMost(response.body, max);
  return { bytes, total: ranged ? response.range?.total : response.length, ranged, url: response.url };
}

/**
 * Probes the image at `url` from its head and tail (see the top of this file). `total` is the
 * length the server states. Throws `UNSUPPORTED` when it states none (or, with `rangesOnly`, when it
 * answers a Range request with the whole body), `EXEC` when its answers do not fit together, and
 * the probe's own errors (unsafe image, unknown format).
 */
export async function probeUrl(
  url: URL,
  options: UrlFetchOptions,
  { rangesOnly = false }: { rangesOnly?: boolean } = {},
): Promise<ImageProbe & { total: number }> {
  const signal = options.signal ?? AbortSignal.timeout(PROBE_TIMEOUT_MS);
  const partOptions = { ...options, signal, idleTimeoutMs: PROBE_IDLE_MS };
  const head = await fetchPart(url, 0, PROBE_HEAD_BYTES, partOptions, rangesOnly);
  const total = head.total;
  if (total === undefined)
    throw new DsError('UNSUPPORTED', `${options.action} ${shortUrl(url)}: size unknown (no Content-Length)`);
  if (head.bytes.length !== Math.min(total, PROBE_HEAD_BYTES))
    throw new DsError('EXEC', `download ${shortUrl(url)}: got ${head.bytes.length} bytes of the header`);
  let tail: { start: number; bytes: Buffer } | undefined;
  const tailStart = Math.max(PROBE_HEAD_BYTES, total - PROBE_TAIL_BYTES);
  if (head.ranged && total > tailStart) {
    const part = await fetchPart(head.url, tailStart, total - tailStart, partOptions);
    if (part.total !== total || part.bytes.length !== total - tailStart)
      throw new DsError('EXEC', `download ${shortUrl(url)}: the server changed the image's length`);
    tail = { start: tailStart, bytes: part.bytes };
  }
  const dir = await mkdtemp(join(tmpdir(), 'one-image-probe-'));
  const local = new LocalRunner();
  try {
    const file = join(dir, 'image');
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.truncate(total).catch((error: unknown) => {
        throw new DsError(
          'UNSUPPORTED',
          `${options.action} ${shortUrl(url)}: ${total} bytes cannot be probed here`,
          {
            cause: error,
          },
        );
      });
      await handle.write(head.bytes, 0, head.bytes.length, 0);
      if (tail) await handle.write(tail.bytes, 0, tail.bytes.length, tail.start);
    } finally {
      await handle.close();
    }
    return { ...(await probeImage(local, file)), total };
  } finally {
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
}
