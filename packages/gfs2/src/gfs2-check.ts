import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { findmntArgv, findmntTableArgv, gfs2SysfsArgv, statFsTypeArgv } from './argv.js';
import { Gfs2Error } from './errors.js';
import { commandFailed, isTimeout, runOnHost } from './exec.js';
import {
  findGfs2Sysfs,
  findMountHolding,
  GFS2_STATFS_TYPE,
  type MountEntry,
  parseFindmnt,
  parseFindmntTable,
  parseGfs2Sysfs,
} from './mounts.js';
import { normalizeAbsolutePath } from './paths.js';

/**
 * Default limit for one check or VM-directory command. A GFS2 whose cluster lost quorum blocks every
 * file operation instead of failing, so a command without a limit could hang a driver action
 * forever. It is 2 minutes, not less: GFS2 also blocks while another host holds the glock or DLM
 * recovers after a host is lost (fencing takes tens of seconds), and a 30 s limit failed clones on
 * a loaded two-host cluster where waiting would have succeeded.
 */
export const DEFAULT_CHECK_TIMEOUT_MS = 120_000;

export interface Gfs2CheckOptions {
  /** Refuse a read-only mount (`READ_ONLY`). Default `true`: the callers are about to write. */
  writable?: boolean;
  /** Limit per command; default `DEFAULT_CHECK_TIMEOUT_MS`. */
  timeoutMs?: number;
}

export interface Gfs2Status {
  host: string;
  /** The normalised path that was checked. */
  path: string;
  /** The mount holding it (kernel mount table). */
  mount: MountEntry;
  /** `/sys/fs/gfs2/<lockTable>`; `undefined` when sysfs lists no GFS2 for the device. */
  lockTable: string | undefined;
  readOnly: boolean;
}

export interface WithdrawState {
  host: string;
  mount: MountEntry;
  lockTable: string | undefined;
  /** `undefined` when the mount is not a GFS2 known to sysfs (nothing to tell). */
  withdrawn: boolean | undefined;
}

/**
 * Checks that `path` exists on `runner`'s host and lies on a mounted, healthy GFS2: the statfs
 * type (`stat -f`), confirmed by the kernel's mount table (`findmnt`), then GFS2's own withdraw
 * flag in sysfs. Reads only; a path that is missing because GFS2 is not mounted is a `NOT_GFS2`.
 */
export async function assertOnGfs2(
  runner: Runner,
  path: string,
  options: Gfs2CheckOptions = {},
): Promise<Gfs2Status> {
  const checked = normalizeAbsolutePath(path);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const statfs = await runOnHost(runner, statFsTypeArgv(checked), { timeoutMs }).catch((error: unknown) => {
    if (!isTimeout(error)) throw error;
    throw new Gfs2Error('EXEC', `GFS2 not answering: stat -f ${checked} on ${runner.host} timed out`, {
      host: runner.host,
      path: checked,
      cause: error,
      retryable: true,
    });
  });
  if (statfs.exitCode !== 0) {
    if (statfs.stderr.includes('No such file or directory')) {
      throw new Gfs2Error('NOT_GFS2', `GFS2 not mounted? ${checked} missing on ${runner.host}`, {
        host: runner.host,
        path: checked,
      });
    }
    if (statfs.stderr.includes('Input/output error')) {
      // What a withdrawn GFS2 answers (seen on 6.1); sysfs, which needs no I/O on it, says whether it is.
      const state = await readWithdrawState(runner, checked, timeoutMs).catch(() => undefined);
      if (state?.withdrawn) throw withdrawnError(runner, checked, state);
      throw new Gfs2Error('WITHDRAWN', `GFS2 I/O error on ${checked} on ${runner.host} (withdrawn?)`, {
        host: runner.host,
        path: checked,
      });
    }
    throw commandFailed(statfs, `stat -f ${checked}`, 'EXEC', checked);
  }
  const type = statfs.stdout.trim();
  if (type !== GFS2_STATFS_TYPE) {
    throw new Gfs2Error('NOT_GFS2', `not GFS2: ${checked} on ${runner.host} is on ${type || 'unknown'}`, {
      host: runner.host,
      path: checked,
    });
  }
  const state = await readWithdrawState(runner, checked, timeoutMs);
  if (state.mount.fstype !== 'gfs2') {
    throw new Gfs2Error(
      'NOT_GFS2',
      `not GFS2: mount table of ${runner.host} has ${state.mount.fstype || 'nothing'} at ${state.mount.target || checked}`,
      { host: runner.host, path: checked },
    );
  }
  if (state.withdrawn) throw withdrawnError(runner, checked, state);
  const readOnly = state.mount.options.includes('ro');
  if (readOnly && (options.writable ?? true)) {
    throw new Gfs2Error('READ_ONLY', `GFS2 read-only: ${state.mount.target} on ${runner.host}`, {
      host: runner.host,
      path: checked,
    });
  }
  return { host: runner.host, path: checked, mount: state.mount, lockTable: state.lockTable, readOnly };
}

/**
 * Tells whether the GFS2 holding `path` has withdrawn, from `/sys/fs/gfs2/<lock table>/withdraw`
 * of the table whose `id` is the mount's device. Uses no file-system I/O on the GFS2 itself
 * (a withdrawn GFS2 answers that with EIO), so it also works when `assertOnGfs2` cannot stat.
 */
export async function detectWithdrawn(
  runner: Runner,
  path: string,
  options: Pick<Gfs2CheckOptions, 'timeoutMs'> = {},
): Promise<WithdrawState> {
  const checked = normalizeAbsolutePath(path);
  return readWithdrawState(runner, checked, options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS);
}

/**
 * The mount holding `path`: `findmnt -T` (resolves symlinks), or, when that fails because the path
 * cannot be stat'ed (EIO on a withdrawn GFS2), the mount table matched by name.
 */
async function findMount(runner: Runner, path: string, timeoutMs: number): Promise<MountEntry> {
  const byPath = await runOnHost(runner, findmntArgv(path), { timeoutMs });
  if (byPath.exitCode === 0) return parseFindmnt(byPath.stdout);
  const table = await runOnHost(runner, findmntTableArgv(), { timeoutMs });
  if (table.exitCode !== 0) throw commandFailed(table, 'findmnt', 'EXEC', path);
  const mount = findMountHolding(parseFindmntTable(table.stdout), path);
  if (!mount) throw commandFailed(byPath, `findmnt -T ${path}`, 'EXEC', path);
  return mount;
}

function withdrawnError(runner: Runner, path: string, state: WithdrawState): Gfs2Error {
  return new Gfs2Error(
    'WITHDRAWN',
    `GFS2 withdrawn: ${state.mount.target} on ${runner.host} (lock table ${state.lockTable})`,
    { host: runner.host, path },
  );
}

async function readWithdrawState(runner: Runner, path: string, timeoutMs: number): Promise<WithdrawState> {
  const mount = await findMount(runner, path, timeoutMs);
  if (mount.fstype !== 'gfs2') {
    return { host: runner.host, mount, lockTable: undefined, withdrawn: undefined };
  }
  // grep exits 2 when a file cannot be read and 1 when nothing matched: the listing is what counts.
  const sysfs = await runOnHost(runner, gfs2SysfsArgv(), { timeoutMs });
  const entry = findGfs2Sysfs(parseGfs2Sysfs(sysfs.stdout), mount.majMin);
  return { host: runner.host, mount, lockTable: entry?.lockTable, withdrawn: entry?.withdrawn };
}
