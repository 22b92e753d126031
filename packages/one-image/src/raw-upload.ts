import { Readable } from 'node:stream';
import { type Host, hostCommandFailed, wipe } from '@one-gfs2clvm/driver-runtime';
import { type ImageProbe, probeImage } from '@one-gfs2clvm/gfs2';
import { DATA_TIMEOUT_MS, devicePath, type LvRef } from '@one-gfs2clvm/lvm';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import type { DatastoreStorage, DsContext } from './context.js';
import { DsError } from './errors.js';
import { type OpenedFile, openRegularFile, readOpenedFile } from './frontend-file.js';
import { createImageLv, roundUpMiB } from './image-lv.js';
import { assertWithinSize } from './size-check.js';

/*
 * A raw front-end file (an ISO, a raw disk) goes straight into the image LV over the action's SSH
 * connection: no staged copy on GFS2. Staging writes every byte to GFS2 and reads it back before
 * the LV gets it, and needs that much free space on GFS2 (a 1 GiB upload failed with ENOSPC on the
 * testbed's 512 MiB GFS2 after 9 minutes). Other formats still need the staged file: qemu-img
 * cannot convert a qcow2 from a pipe.
 */

const SECTOR = 512;

/**
 * The format of a front-end file by `qemu-img info` on the front-end, with the same safety checks
 * as on a host. `undefined` when it cannot be told here (no qemu-img on the front-end, an image
 * refused): the caller stages the file and the host's probe decides, as before.
 */
export async function probeOnFrontEnd(ctx: DsContext, file: string): Promise<ImageProbe | undefined> {
  const local = new LocalRunner();
  try {
    return await probeImage(local, file);
  } catch (error) {
    ctx.log.info(`${file}: not probed on the front-end (${(error as Error).message.split('\n')[0]}): staged`);
    return undefined;
  } finally {
    await local.close();
  }
}

/**
 * Creates the image LV for a raw front-end file and streams the file into it with `dd`
 * (direct I/O, whole blocks; the last sector padded with zeros, so no byte of an earlier LV on
 * those extents survives in it); the tail beyond it is wiped when ZERO_ON_CREATE. A file larger
 * than the image's SIZE (`sizeMiB`) is refused before the LV is made; a stream of another length
 * than the file had (it shrank or grew) is an error, and the LV is removed again.
 */
export async function uploadRawIntoImage(
  ctx: DsContext,
  host: Host,
  storage: DatastoreStorage,
  file: string,
  target: LvRef,
  sizeMiB: number,
): Promise<void> {
  // Opened before the LV is made: what is streamed is this descriptor (one line when it cannot be).
  const opened = await openRegularFile(ctx.action, file);
  try {
    await uploadOpened(ctx, host, storage, opened, target, sizeMiB);
  } finally {
    await opened.handle.close();
  }
}

async function uploadOpened(
  ctx: DsContext,
  host: Host,
  storage: DatastoreStorage,
  opened: OpenedFile,
  target: LvRef,
  sizeMiB: number,
): Promise<void> {
  const file = opened.path;
  // The file's own size: qemu-img reports a raw file's virtual size rounded up to 512 bytes.
  const sizeBytes = opened.size;
  if (sizeBytes <= 0) throw new DsError('INVALID_ARGUMENT', `${file}: image of size 0`);
  assertWithinSize(sizeBytes, sizeMiB, file);
  const written = Math.ceil(sizeBytes / SECTOR) * SECTOR;
  await createImageLv(ctx, host, storage, target, roundUpMiB(sizeBytes), async (lv) => {
    const what = `upload of ${file} into ${target.vg}/${target.lv} on ${host.name}`;
    // Counted in the pipe itself (a 'data' listener would start the flow before SSH is connected).
    const counter = { sent: 0 };
    const body = Readable.from(countedWithPadding(readOpenedFile(opened), written - sizeBytes, counter));
    const argv = [
      'dd',
      `of=${devicePath(target)}`,
      `bs=${ctx.config.copyBlockSize}`,
      'iflag=fullblock',
      'oflag=direct',
      'conv=notrunc,fsync',
      'status=none',
    ];
    const result = await ctx.log.timed(what, () =>
      host.data.run(argv, { stdin: body, reject: false, timeoutMs: DATA_TIMEOUT_MS }),
    );
    if (result.exitCode !== 0) throw hostCommandFailed(host, what, result.exitCode, result.stderr);
    if (counter.sent !== written)
      throw new DsError('EXEC', `${what}: sent ${counter.sent} of ${written} bytes (file changed?)`);
    if (storage.zeroOnCreate && lv.sizeBytes > written)
      await wipe(ctx, host, target, { offsetBytes: written, lengthBytes: lv.sizeBytes - written });
  });
}

/** The file's bytes, then `padding` zeros, counted into `counter.sent` as they are read. */
async function* countedWithPadding(
  stream: AsyncIterable<Buffer>,
  padding: number,
  counter: { sent: number },
): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    counter.sent += chunk.length;
    yield chunk;
  }
  if (padding > 0) {
    counter.sent += padding;
    yield Buffer.alloc(padding);
  }
}
