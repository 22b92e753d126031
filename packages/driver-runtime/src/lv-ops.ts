import {
  activeTag,
  DATA_TIMEOUT_MS,
  devicePath,
  type Lv,
  LvmError,
  type LvRef,
  type WipeRange,
} from '@one-gfs2clvm/lvm';
import { type AllocationMap, mappedBytes, mappedRanges, WRITTEN_TAG } from './alloc-map.js';
import type { ActionContext } from './context.js';
import { DriverError } from './errors.js';
import type { Host } from './hosts.js';

const MiB = 2 ** 20;

/** The reboot re-activation tag of a host: `one_active_<short host name>` (testbed contract). */
export function hostTag(host: string): string {
  return activeTag(host.split('.')[0] as string);
}

/**
 * Exclusive activation for a VM on `host`, recorded with the host's tag (idempotent): ONE
 * `lvchange --addtag <tag> -aey` (helper: `activate <vg> <lv> exclusive <tag>`), the tag left out
 * when `known` (the LV as just read) already carries it. `markWritten` (a persistent image given
 * to a VM by `ln`): the same lvchange also adds `one_written` (alloc-map.ts: the VM may write
 * anywhere, so the image's allocation map is no longer trusted; never removed). Always runs
 * `-aey`: under lvmlockd, LVM 2.03.16 reports `lv_active_exclusively` for any locally active LV, so
 * a shared lock (left by premigrate) cannot be told from an exclusive one by `lvs`; `-aey`
 * converts a shared lock in place and is a no-op on an exclusive one. LVM writes the tags before
 * it activates: when the activation is refused because another host holds the LV, the host tag
 * is taken off again (a tag of a host that cannot hold the LV would only make its boot
 * re-activation take the LV later, wrongly); the marker stays (it only costs a full read later).
 */
export async function activateForVm(
  host: Host,
  ref: LvRef,
  known?: Lv,
  options: { markWritten?: boolean } = {},
): Promise<void> {
  const tag = hostTag(host.name);
  const addTags = [tag, ...(options.markWritten ? [WRITTEN_TAG] : [])].filter(
    (t) => known?.tags.includes(t) !== true,
  );
  if (addTags.length === 0) {
    await host.lvm.activateLv(ref.vg, ref.lv, 'exclusive');
    return;
  }
  try {
    await host.lvm.activateLv(ref.vg, ref.lv, 'exclusive', { addTags });
  } catch (error) {
    if (LvmError.hasCode(error, 'LOCKED_BY_OTHER_HOST') && addTags.includes(tag))
      await host.lvm.removeTag(ref.vg, ref.lv, tag).catch(() => undefined);
    throw error;
  }
}

/**
 * Deactivation on `host` and removal of its tag, in ONE `lvchange --deltag <tag> -an` (helper:
 * `deactivate <vg> <lv> <tag>`), without reading the LV first: both halves are no-ops when already
 * done, and a missing LV is fine. LVM removes the tag before it deactivates, so with `ignoreInUse`
 * an LV still open here (a CDROM another VM of this host reads) stays active, untagged — as before.
 */
export async function releaseFromHost(
  host: Host,
  ref: LvRef,
  options: { ignoreInUse?: boolean } = {},
): Promise<void> {
  try {
    await host.lvm.deactivateLv(ref.vg, ref.lv, { delTag: hostTag(host.name) });
  } catch (error) {
    if (isMissingLv(error)) return;
    if (!(options.ignoreInUse && LvmError.hasCode(error, 'IN_USE'))) throw error;
  }
}

/** `NOT_FOUND` about the LV itself, not its VG (a missing VG is an error, never "already gone"). */
function isMissingLv(error: unknown): boolean {
  if (!LvmError.hasCode(error, 'NOT_FOUND')) return false;
  return ![error.message, ...error.logMessages].some((m) => /Volume group "[^"]*" not found/.test(m));
}

/**
 * Zeroes an LV or a byte range of it (active on `host`) with `Lvm.wipe` (the host helper's `wipe`,
 * or `blkdiscard --zeroout` with `dd` as fall-back), timed in the log. A failed wipe command is the
 * driver's one line `<what> failed on <host> (exit N): <stderr tail>`; a runner's own failure
 * (timeout, lost connection) passes through as the runner's error.
 */
export async function wipe(ctx: ActionContext, host: Host, ref: LvRef, range?: WipeRange): Promise<void> {
  if (range && range.lengthBytes <= 0) return;
  const what = `wipe ${ref.vg}/${ref.lv}${range ? ` from ${range.offsetBytes / MiB} MiB` : ''}`;
  await ctx.log.timed(what, async () => {
    const done = await host.lvm.wipe(ref.vg, ref.lv, range).catch((error: unknown) => {
      throw wipeFailure(host, what, error);
    });
    if (done.by === 'dd')
      ctx.log.info(`blkdiscard --zeroout on ${host.name} failed (${done.blkdiscardError}); zeroing with dd`);
  });
}

/** The error of a failed `Lvm.wipe` as the driver reports it (see `wipe`). */
function wipeFailure(host: Host, what: string, error: unknown): unknown {
  // Refused before running anything (no argv), or the LV's read (`lvs …`): the library's error.
  if (!LvmError.isInstance(error) || error.argv.length === 0 || !error.message.startsWith('wipe '))
    return error;
  if (error.exitCode === null) return error.cause ?? error;
  return hostCommandFailed(host, what, error.exitCode, error.stderr);
}

export interface CopyOptions {
  /**
   * What the target reads as before the copy. Left out: anything (every block of the source is
   * written). `wiped` (zeroed whole just before) and `new-thin` (a new thin LV) read as zeros, so the
   * source's zero blocks are left unwritten (`dd conv=sparse`; on a thin LV they stay unprovisioned).
   * Never for any other LV: the skipped blocks would keep the previous tenant's data (design §7).
   */
  zeroTarget?: 'wiped' | 'new-thin';
}

/** `conv=` of each kind of copy, spelt as each has always run (dd reads both sparse ones alike). */
const CONV = {
  any: 'conv=notrunc,fsync',
  wiped: 'conv=notrunc,sparse,fsync',
  'new-thin': 'conv=sparse,notrunc,fsync',
} as const;

/**
 * argv of an LV→LV copy: `dd` with direct I/O and large blocks (measured faster than
 * `qemu-img convert -t none -T none -W` on the testbed: bench/data-path.mjs), `conv=sparse` only
 * onto a target known to read as zeros.
 */
export function copyArgv(from: LvRef, to: LvRef, blockSize: string, options: CopyOptions = {}): string[] {
  return [
    'dd',
    `if=${devicePath(from)}`,
    `of=${devicePath(to)}`,
    `bs=${blockSize}`,
    'iflag=direct',
    'oflag=direct',
    CONV[options.zeroTarget ?? 'any'],
    'status=none',
  ];
}

/** Copies one LV into another on `host` with direct I/O and large blocks (design §7). */
export async function copyLv(
  ctx: ActionContext,
  host: Host,
  from: LvRef,
  to: LvRef,
  options: CopyOptions = {},
): Promise<void> {
  const copy = `copy ${from.vg}/${from.lv} to ${to.vg}/${to.lv} on ${host.name}`;
  const what = {
    any: copy,
    wiped: `${copy} (zero blocks skipped)`,
    'new-thin': `sparse ${copy}`,
  }[options.zeroTarget ?? 'any'];
  await ctx.log.timed(what, () =>
    runChecked(host, host.data, copyArgv(from, to, ctx.config.copyBlockSize, options), what),
  );
}

/**
 * A fixed script: for each `<offset> <length>` pair of arguments after `$1` (source device), `$2`
 * (target device) and `$3` (block size), one `dd` of those bytes to the same offset, direct I/O,
 * zero blocks left unwritten (`sparse`: the target reads as zeros, the caller's guarantee).
 */
export const RANGE_COPY_SCRIPT =
  'src=$1 dst=$2 bs=$3; shift 3; while [ $# -ge 2 ]; do ' +
  'dd if="$src" of="$dst" bs="$bs" skip="$1" seek="$1" count="$2" iflag=direct,skip_bytes,count_bytes ' +
  'oflag=direct,seek_bytes conv=notrunc,sparse,fsync status=none || exit; shift 2; done';

/** argv of a copy of the byte `ranges` of one LV into another (pure, for the unit tests). */
export function rangeCopyArgv(
  from: LvRef,
  to: LvRef,
  blockSize: string,
  ranges: ReadonlyArray<readonly [number, number]>,
): string[] {
  const pairs = ranges.flatMap(([offset, length]) => [String(offset), String(length)]);
  return [
    'sh',
    '-c',
    RANGE_COPY_SCRIPT,
    'copy-ranges',
    devicePath(from),
    devicePath(to),
    blockSize,
    ...pairs,
  ];
}

/**
 * Copies only the chunks of `from` that its allocation map says may hold data, onto `to`, which
 * MUST read as zeros (a new thin LV, or one just wiped whole): the chunks not copied are zeros in
 * the image and stay zeros in the target.
 */
export async function copyLvRanges(
  ctx: ActionContext,
  host: Host,
  from: LvRef,
  to: LvRef,
  map: AllocationMap,
): Promise<void> {
  const ranges = mappedRanges(map);
  const bytes = mappedBytes(map);
  const what = `copy ${from.vg}/${from.lv} to ${to.vg}/${to.lv} on ${host.name} (${ranges.length} ranges, ${bytes / MiB} MiB)`;
  if (ranges.length === 0) {
    ctx.log.info(`${what}: the image holds no data`);
    return;
  }
  await ctx.log.timed(what, () =>
    runChecked(host, host.data, rangeCopyArgv(from, to, ctx.config.copyBlockSize, ranges), what),
  );
}

/**
 * A fixed script (the device path is its `$1`, never part of the script): the device's
 * `write_zeroes_max_bytes` from sysfs, `0` when it cannot be read.
 */
export const WRITE_ZEROES_SCRIPT =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
  'd=$(readlink -f -- "$1") && cat -- "/sys/block/${d##*/}/queue/write_zeroes_max_bytes" 2>/dev/null || echo 0';

/**
 * Whether the block device behind an (active) LV offloads write-zeroes, so `blkdiscard --zeroout`
 * of the whole LV costs next to nothing; otherwise the kernel writes zero pages and a whole-LV wipe
 * would cost as much as the copy it is meant to shorten.
 */
export async function writesZeroesFast(host: Host, ref: LvRef): Promise<boolean> {
  const result = await host.runner.run(['sh', '-c', WRITE_ZEROES_SCRIPT, 'sh', devicePath(ref)], {
    reject: false,
    timeoutMs: 60_000,
  });
  return result.exitCode === 0 && Number(result.stdout.trim()) > 0;
}

/**
 * Removes a VM-owned LV: zeroed first when ZERO_ON_DELETE (it must be active here for that, which
 * fails with LOCKED_BY_OTHER_HOST if a VM still runs it elsewhere), then deactivated and removed.
 */
export async function destroyVmLv(
  ctx: ActionContext,
  host: Host,
  ref: LvRef,
  zero: boolean,
): Promise<boolean> {
  const lv = await host.lvm.findLv(ref.vg, ref.lv);
  if (!lv) return false;
  if (zero) {
    // -aey also refuses (LOCKED_BY_OTHER_HOST) while a VM elsewhere still holds the LV.
    await host.lvm.activateLv(ref.vg, ref.lv, 'exclusive');
    await wipe(ctx, host, ref);
  }
  await host.lvm.ensureInactive(ref.vg, ref.lv);
  await host.lvm.removeLvIfExists(ref.vg, ref.lv);
  ctx.log.info(`removed ${ref.vg}/${ref.lv} on ${host.name}`);
  return true;
}

async function runChecked(host: Host, runner: Host['runner'], argv: string[], what: string): Promise<void> {
  const result = await runner.run(argv, { reject: false, timeoutMs: DATA_TIMEOUT_MS });
  if (result.exitCode !== 0) throw hostCommandFailed(host, what, result.exitCode, result.stderr);
}

export function hostCommandFailed(
  host: Host,
  what: string,
  exitCode: number | null,
  stderr: string,
): DriverError {
  const tail = stderr.trim().split('\n').slice(-1)[0] ?? '';
  return new DriverError('EXEC', `${what} failed on ${host.name} (exit ${exitCode}): ${tail}`);
}

/** Runs `undo` steps (latest first), logging but not throwing their failures: the first error wins. */
export async function rollback(ctx: ActionContext, steps: Array<() => Promise<unknown>>): Promise<void> {
  for (const step of steps.reverse()) {
    try {
      await step();
    } catch (error) {
      ctx.log.error(`rollback step failed: ${(error as Error).message}`);
    }
  }
}

/**
 * Rollback of a failed create: the VM directory goes again if it is empty (`rmdir` refuses
 * otherwise, so another disk's link or a checkpoint is never touched).
 */
export async function removeEmptyVmDir(host: Host, vmDir: string): Promise<void> {
  await host.runner.run(['rmdir', '--', vmDir], { reject: false, timeoutMs: 60_000 });
}

/** mkfs without prompts (stdin is empty): ext* `-F`, xfs `-f`. */
export function mkfsArgv(fs: string, dev: string): string[] {
  if (/^ext[234]$/.test(fs)) return ['mkfs', '-t', fs, '-F', '-q', dev];
  if (fs === 'xfs') return ['mkfs', '-t', 'xfs', '-f', '-q', dev];
  return ['mkfs', '-t', fs, dev];
}
