import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import {
  type Host,
  hostCommandFailed,
  type MapExtent,
  mapFromExtents,
  mappedBytes,
  mapTag,
  parseQemuImgMap,
  wipe,
} from '@one-gfs2clvm/driver-runtime';
import { assertOnGfs2, checkPathAllowed, type ImageProbe, probeImage } from '@one-gfs2clvm/gfs2';
import { DATA_TIMEOUT_MS, devicePath, type LvRef } from '@one-gfs2clvm/lvm';
import { LocalRunner, type Runner } from '@one-gfs2clvm/ssh-remote';
import type { DatastoreData } from './action-data.js';
import type { DatastoreStorage, DsContext } from './context.js';
import { DsError } from './errors.js';
import { openRegularFile, readOpenedFile } from './frontend-file.js';
import { checkHostFile as checkHostFileOnce } from './host-file.js';
import { createImageLv, MiB, roundUpMiB } from './image-lv.js';

/** Where FE files and downloads are staged on a host: on GFS2, next to the system datastores. */
export function stagingDir(ctx: DsContext): string {
  return `${ctx.config.datastoreLocation.replace(/\/+$/, '')}/.gfs2clvm-import`;
}

function restrictions(ctx: DsContext, ds: DatastoreData) {
  return {
    restrictedDirs: ds.template.RESTRICTED_DIRS,
    safeDirs: ds.template.SAFE_DIRS,
    user: ctx.config.sshUser,
  };
}

/**
 * A path on the GFS2 mount, checked on `host` in one command (see `host-file.ts`): allowed by
 * RESTRICTED_DIRS/SAFE_DIRS after realpath there, still under DATASTORE_LOCATION, not in a VM
 * directory, and a regular file (never a device). Returns the real path.
 */
export function checkHostFile(ctx: DsContext, host: Host, path: string, ds: DatastoreData): Promise<string> {
  return checkHostFileOnce(host.runner, path, {
    datastoreLocation: ctx.config.datastoreLocation,
    restrictedDirs: ds.template.RESTRICTED_DIRS,
    safeDirs: ds.template.SAFE_DIRS,
    user: ctx.config.sshUser,
  });
}

/**
 * A file on the front-end (Sunstone upload, local path): allowed after realpath here, a regular
 * file the driver's user can open (`frontend-file.ts`: one line when it cannot). Returns its real path.
 */
export async function checkFrontEndFile(ctx: DsContext, path: string, ds: DatastoreData): Promise<string> {
  const local = new LocalRunner();
  try {
    const real = await checkPathAllowed(local, path, restrictions(ctx, ds));
    await (await openRegularFile(ctx.action, real)).handle.close();
    return real;
  } finally {
    await local.close();
  }
}

/**
 * Share of the staging file system's size a staged file must leave free: GFS2 holds the VM
 * directories too (checkpoints of suspended VMs, context ISOs), which must not fail for a download.
 */
export const STAGING_RESERVE = 0.05;

/** `stat -f` of the staging directory: blocks available to the SSH user, total blocks, block size. */
export function statFsSpaceArgv(dir: string): string[] {
  return ['stat', '-f', '-c', '%a %b %S', '--', dir];
}

/**
 * The most bytes a staged file may take, from `statFsSpaceArgv`'s output: the free space less
 * `STAGING_RESERVE` of the file system's size. Throws `EXEC` on any other output.
 */
export function stagingLimit(statOutput: string): number {
  const m = /^([0-9]+) ([0-9]+) ([0-9]+)\n?$/.exec(statOutput);
  if (!m) throw new DsError('EXEC', `stat -f gave ${JSON.stringify(statOutput.slice(0, 60))}`);
  const [avail, total, block] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return Math.max(0, avail * block - Math.ceil(total * block * STAGING_RESERVE));
}

/**
 * The refusal of a transfer of `bytes` (when known) into a staged file that may take `limit`
 * bytes; `undefined` when it may start (a transfer of unknown length is stopped past the limit).
 */
export function stagingRefusal(
  what: string,
  bytes: number | undefined,
  limit: number,
  where: string,
): string | undefined {
  if (bytes === undefined || bytes <= limit) return undefined;
  return `${what}: ${mib(bytes)} do not fit in the ${mib(limit)} free for staging on ${where}`;
}

/** The line when a transfer grew past `limit` while it ran. */
export function stagingOverflow(what: string, limit: number, where: string): string {
  return `${what}: stopped past ${mib(limit)}, more than the free space for staging on ${where}`;
}

/**
 * A pass-through that counts the bytes (in the pipe itself: a 'data' listener would start the flow
 * before SSH is connected) and fails with `tooMuch()` as soon as more than `limit` went through.
 */
export function limitedCounter(
  limit: number,
  tooMuch: () => Error,
): { stream: Transform; readonly bytes: number; readonly overflow: boolean } {
  const state = { bytes: 0, overflow: false };
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      state.bytes += chunk.length;
      if (state.bytes <= limit) return done(null, chunk);
      state.overflow = true;
      done(tooMuch());
    },
  });
  return {
    stream,
    get bytes() {
      return state.bytes;
    },
    get overflow() {
      return state.overflow;
    },
  };
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/**
 * Streams `body` into a new file in the staging directory on `host` (on GFS2) over the action's SSH
 * connection and returns its path. The free space there is read first: a transfer whose length is
 * known and does not fit is refused before a byte is written, one of unknown length is stopped as
 * soon as it grows past it. A short read (the connection closed early) is an error; the file is
 * removed on any failure.
 */
export async function stageStream(
  ctx: DsContext,
  host: Host,
  body: Readable,
  expectedBytes: number | undefined,
  what: string,
  label: string,
): Promise<string> {
  const dir = stagingDir(ctx);
  // The body may fail while the host is asked (a download cut off): kept here, never unhandled.
  let early: Error | undefined;
  body.on('error', (error) => {
    early ??= error;
  });
  let limit: number;
  try {
    await mustRun(host, host.runner, ['mkdir', '-p', '-m', '0700', '--', dir], `mkdir ${dir}`);
    await assertOnGfs2(host.runner, dir);
    const space = await host.runner.run(statFsSpaceArgv(dir), { reject: false, timeoutMs: 60_000 });
    if (space.exitCode !== 0) throw hostCommandFailed(host, `stat -f ${dir}`, space.exitCode, space.stderr);
    limit = stagingLimit(space.stdout);
  } catch (error) {
    body.destroy();
    throw error;
  }
  const where = `${dir} (${host.name})`;
  const refusal = stagingRefusal(what, expectedBytes, limit, where);
  if (refusal !== undefined) {
    body.destroy();
    throw new DsError('NO_SPACE', refusal);
  }
  if (early) throw new DsError('EXEC', `${what} failed: ${early.message}`, { cause: early });
  // Named after the image, so a leftover (a killed action) says whose it is.
  const file = `${dir}/${label}-${randomBytes(6).toString('hex')}.part`;
  const tooMuch = () => new DsError('NO_SPACE', stagingOverflow(what, limit, where));
  const counter = limitedCounter(limit, tooMuch);
  const counted = counter.stream;
  body.on('error', (error) => counted.destroy(error));
  // Past the free space the download stops (and dd with it) instead of filling GFS2.
  counted.on('error', () => body.destroy());
  body.pipe(counted);
  try {
    await ctx.log.timed(`${what} to ${host.name}`, () =>
      host.runner.run(['dd', `of=${file}`, 'bs=4M', 'status=none'], {
        stdin: counted,
        timeoutMs: DATA_TIMEOUT_MS,
      }),
    );
    if (counter.overflow) throw tooMuch();
    if (expectedBytes !== undefined && counter.bytes !== expectedBytes)
      throw new DsError(
        'EXEC',
        `${what}: got ${counter.bytes} of ${expectedBytes} bytes (connection closed early)`,
      );
    return file;
  } catch (error) {
    await removeStaged(host, file);
    if (counter.overflow) throw new DsError('NO_SPACE', tooMuch().message, { cause: error });
    if (DsError.isInstance(error)) throw error;
    throw new DsError('EXEC', `${what} failed: ${(error as Error).message}`, { cause: error });
  }
}

export async function removeStaged(host: Host, file: string): Promise<void> {
  await host.runner.run(['rm', '-f', '--', file], { reject: false, timeoutMs: 120_000 });
}

/**
 * A front-end file (its real path) as a stream of its size when opened: refused with one line when
 * it cannot be read or is no longer a regular file (`frontend-file.ts`).
 */
export async function openFrontEndFile(
  ctx: DsContext,
  real: string,
): Promise<{ body: Readable; length: number }> {
  const file = await openRegularFile(ctx.action, real);
  return { body: readOpenedFile(file), length: file.size };
}

/**
 * The `qemu-img convert` of an import: `file` of `format` into the existing raw device `dev`, with
 * direct I/O (`-t none`) and parallel writes (`-W`).
 */
export function convertArgv(format: string, file: string, dev: string): string[] {
  return ['qemu-img', 'convert', '-q', '-f', format, '-O', 'raw', '-n', '-t', 'none', '-W', '--', file, dev];
}

/**
 * Converts the probed image `file` on `host` into a new raw LV sized to its virtual size:
 * `qemu-img convert` with the probed format given explicitly, direct I/O on the LV and parallel
 * writes. `-n` (existing target) makes qemu-img write zeros too, so nothing of an earlier LV on
 * those extents survives; the tail beyond the image (extent rounding) is wiped when ZERO_ON_CREATE.
 * While it converts, `qemu-img map` of the file gives the image's allocation map, recorded on the
 * LV when it is deactivated (a clone then copies only the chunks that hold data). A map that
 * cannot be had costs nothing but that: the image is imported without one.
 */
export async function convertIntoImage(
  ctx: DsContext,
  host: Host,
  storage: DatastoreStorage,
  file: string,
  probe: ImageProbe,
  target: LvRef,
): Promise<void> {
  if (probe.virtualSize <= 0) throw new DsError('INVALID_ARGUMENT', `${file}: image of size 0`);
  await createImageLv(ctx, host, storage, target, roundUpMiB(probe.virtualSize), async (lv) => {
    const dev = devicePath(target);
    const what = `qemu-img convert ${probe.format} to ${target.vg}/${target.lv}`;
    const [extents] = await Promise.all([
      readAllocation(ctx, host, file, probe),
      ctx.log.timed(what, () => mustRun(host, host.data, convertArgv(probe.format, file, dev), what)),
    ]);
    // The LV as lvcreate left it (its size rounded to extents), not read again.
    const written = Math.ceil(probe.virtualSize / 512) * 512;
    const tailWiped = storage.zeroOnCreate && lv.sizeBytes > written;
    if (tailWiped)
      await wipe(ctx, host, target, { offsetBytes: written, lengthBytes: lv.sizeBytes - written });
    if (!extents) return undefined;
    const tail = { start: written, length: lv.sizeBytes - written, zero: tailWiped };
    const map = mapFromExtents(lv.sizeBytes, [...extents, tail]);
    const tag = mapTag(map);
    ctx.log.info(
      `allocation map of ${target.lv}: ${mappedBytes(map) / MiB} of ${lv.sizeBytes / MiB} MiB may hold data${tag ? '' : ' (not recorded: no tag for this size)'}`,
    );
    return tag;
  });
}

/** `qemu-img map` of the image file: its extents, `undefined` (logged) when that fails. */
async function readAllocation(
  ctx: DsContext,
  host: Host,
  file: string,
  probe: ImageProbe,
): Promise<MapExtent[] | undefined> {
  const result = await host.runner.run(['qemu-img', 'map', '--output=json', '-f', probe.format, '--', file], {
    reject: false,
    timeoutMs: 600_000,
  });
  try {
    if (result.exitCode !== 0)
      throw new Error(result.stderr.trim().split('\n').pop() ?? `exit ${result.exitCode}`);
    return parseQemuImgMap(result.stdout);
  } catch (error) {
    ctx.log.info(`no allocation map for ${file}: ${(error as Error).message}`);
    return undefined;
  }
}

/** Probes `file` on `host` (untrusted: backing files, data files, VMDK extents refused). */
export function probe(runner: Runner, file: string): Promise<ImageProbe> {
  return probeImage(runner, file);
}

async function mustRun(host: Host, runner: Runner, argv: string[], what: string): Promise<void> {
  const result = await runner.run(argv, { reject: false, timeoutMs: DATA_TIMEOUT_MS });
  if (result.exitCode !== 0) throw hostCommandFailed(host, what, result.exitCode, result.stderr);
}

export { MiB };
