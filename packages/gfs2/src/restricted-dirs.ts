import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { getentPasswdArgv, realpathExistingArgv, realpathMissingOkArgv } from './argv.js';
import { Gfs2Error } from './errors.js';
import { commandFailed, runOnHost } from './exec.js';
import { DEFAULT_CHECK_TIMEOUT_MS } from './gfs2-check.js';
import { isUnder, normalizeAbsolutePath } from './paths.js';
import { show } from './show.js';

/**
 * Always restricted (plus `$HOME` of the driver's user): OpenNebula's own state and configuration,
 * as in its `fs` driver, and what the driver's user can read but no user may import — logs
 * (`oned.log` holds other users' paths and errors), run-time state (sockets, PID files, locks:
 * `/var/run` and `/var/lock` lead into `/run`), the kernel's pseudo files (`/proc/<pid>/environ`,
 * `cmdline`, `/sys`) and devices. Compared after realpath, so a symlink into one of them counts.
 */
export const DEFAULT_RESTRICTED_DIRS: readonly string[] = [
  '/var/lib/one',
  '/etc/one',
  '/var/log',
  '/run',
  '/var/run',
  '/var/lock',
  '/proc',
  '/sys',
  '/dev',
];

/** POSIX-ish user names as useradd accepts them; no leading `-` (getent would take an option). */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export interface DirRules {
  /** Absolute, normalised directories a path may not resolve into… */
  restricted: readonly string[];
  /** …unless it resolves into one of these (they win, as in the `fs` driver). */
  safe: readonly string[];
}

export type Restriction =
  | { allowed: true; safeDir: string | undefined }
  | { allowed: false; restrictedDir: string };

/**
 * Splits a `RESTRICTED_DIRS`/`SAFE_DIRS` template value (space separated, like the `fs` driver's
 * shell loop) into normalised absolute directories; a relative entry is a configuration error.
 */
export function parseDirList(value: string | undefined, what: string): string[] {
  if (value === undefined) return [];
  return value
    .split(/\s+/)
    .filter((entry) => entry !== '')
    .map((entry) => normalizeAbsolutePath(entry, `${what} entry`));
}

/**
 * The `fs` driver's decision for a path already resolved with realpath: allowed when under a safe
 * dir, refused when under a restricted one, else allowed. Unlike the driver's `grep -E "^$dir"`
 * it compares whole components and does not read the entries as regular expressions.
 */
export function decideRestriction(realPath: string, rules: DirRules): Restriction {
  const safeDir = rules.safe.find((dir) => isUnder(realPath, dir));
  if (safeDir !== undefined) return { allowed: true, safeDir };
  const restrictedDir = rules.restricted.find((dir) => isUnder(realPath, dir));
  if (restrictedDir !== undefined) return { allowed: false, restrictedDir };
  return { allowed: true, safeDir: undefined };
}

export interface PathRestrictionOptions {
  /** The datastore template's `RESTRICTED_DIRS` (space separated). */
  restrictedDirs?: string;
  /** The datastore template's `SAFE_DIRS` (space separated). */
  safeDirs?: string;
  /** Home of the driver's user; default: looked up for `user` on the host. */
  home?: string;
  /** Whose `$HOME` is restricted; default `oneadmin`. */
  user?: string;
  timeoutMs?: number;
}

/**
 * Resolves `path` with realpath on the host that holds the file (so a symlink there cannot lead
 * out of a safe directory) and applies `RESTRICTED_DIRS`/`SAFE_DIRS`, themselves resolved on the
 * same host. Returns the real path: read that one afterwards, not the path given.
 */
export async function checkPathAllowed(
  runner: Runner,
  path: string,
  options: PathRestrictionOptions = {},
): Promise<string> {
  const given = normalizeAbsolutePath(path);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const safe = parseDirList(options.safeDirs, 'SAFE_DIRS');
  const home = options.home ?? (await lookUpHome(runner, options.user ?? 'oneadmin', timeoutMs));
  const restricted = [
    ...DEFAULT_RESTRICTED_DIRS,
    ...(home === undefined ? [] : [normalizeAbsolutePath(home, 'home directory')]),
    ...parseDirList(options.restrictedDirs, 'RESTRICTED_DIRS'),
  ];

  const real = await runOnHost(runner, realpathExistingArgv(given), { timeoutMs });
  if (real.exitCode !== 0) {
    const code = real.stderr.includes('No such file or directory') ? 'NOT_FOUND' : 'EXEC';
    throw commandFailed(real, `realpath ${given}`, code, given);
  }
  const realPath = normalizeAbsolutePath(real.stdout.replace(/\n$/, ''), `real path of ${given}`);
  const resolvedSafe = await resolveDirs(runner, safe, timeoutMs);
  const resolvedRestricted = await resolveDirs(runner, restricted, timeoutMs);
  // A restricted dir counts under its given and its resolved name; a safe dir only as resolved.
  const decision = decideRestriction(realPath, {
    safe: resolvedSafe,
    restricted: [...restricted, ...resolvedRestricted],
  });
  if (!decision.allowed) {
    throw new Gfs2Error(
      'RESTRICTED',
      `path restricted: ${show(given)} resolves into ${decision.restrictedDir} on ${runner.host}`,
      { host: runner.host, path: given },
    );
  }
  return realPath;
}

async function resolveDirs(runner: Runner, dirs: readonly string[], timeoutMs: number): Promise<string[]> {
  if (dirs.length === 0) return [];
  const result = await runOnHost(runner, realpathMissingOkArgv(dirs), { timeoutMs });
  if (result.exitCode !== 0) throw commandFailed(result, 'realpath of RESTRICTED_DIRS/SAFE_DIRS');
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  if (lines.length !== dirs.length) {
    throw new Gfs2Error('EXEC', `realpath on ${runner.host} gave ${lines.length} paths for ${dirs.length}`);
  }
  return lines.map((line) => normalizeAbsolutePath(line, 'resolved directory'));
}

/** `$HOME` of `user` on the host, or `undefined` when the host has no such user. */
async function lookUpHome(runner: Runner, user: string, timeoutMs: number): Promise<string | undefined> {
  if (!USER_NAME.test(user)) throw new Gfs2Error('INVALID_PATH', `user name ${show(user)} is not valid`);
  const result = await runOnHost(runner, getentPasswdArgv(user), { timeoutMs });
  if (result.exitCode !== 0) return undefined;
  const home = result.stdout.split('\n')[0]?.split(':')[5];
  return home === undefined || home === '' ? undefined : home;
}
