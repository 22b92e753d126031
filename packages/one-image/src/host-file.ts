import { show } from '@one-gfs2clvm/driver-runtime';
import {
  DEFAULT_RESTRICTED_DIRS,
  decideRestriction,
  isUnder,
  normalizeAbsolutePath,
  parseDirList,
} from '@one-gfs2clvm/gfs2';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { DsError } from './errors.js';
import { assertNotInVmDir } from './source.js';

/*
 * The checks of a file on the GFS2 mount before it is read on a host, in ONE remote command: on an
 * emulated or busy host every command costs a process start and a round trip, and these checks
 * were five (getent, three realpath, test -f). The script is fixed; the user, the path and the
 * directories are its positional parameters, never part of it. It only gathers facts; every
 * decision is made here from them, in the order of the single commands before.
 */

/**
 * `$1` user, `$2` path, `$3…` directories to resolve. Prints NUL-terminated fields: realpath's exit
 * code, the real path, `0` when it is a regular file (after symlinks; never a device or a FIFO),
 * the user's home (empty when unknown), then the real paths of the home (if any) and of `$3…`
 * (`realpath -m`: they need not exist). realpath's own error goes to stderr.
 */
export const HOST_FILE_SCRIPT = [
  'h=$(getent passwd "$1" | cut -d: -f6)',
  // `&& echo .` keeps a trailing newline of the name; realpath's own newline is cut after it.
  'r=$(realpath -e -- "$2" && echo .); e=$?',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
  'r=${r%.}; r=${r%?}',
  'if [ "$e" = 0 ] && [ -f "$r" ]; then f=0; else f=1; fi',
  'printf \'%s\\0\' "$e" "$r" "$f" "$h"',
  'shift 2',
  '[ -z "$h" ] || set -- "$h" "$@"',
  '[ "$#" = 0 ] || realpath -z -m -- "$@"',
].join('\n');

/** POSIX-ish user names as useradd accepts them; no leading `-` (getent would take an option). */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export function hostFileArgv(user: string, path: string, dirs: readonly string[]): string[] {
  if (!USER_NAME.test(user))
    throw new DsError('CONFIG', `SSH user ${JSON.stringify(user)} is not a user name`);
  return ['sh', '-c', HOST_FILE_SCRIPT, 'sh', user, path, ...dirs];
}

export interface HostFileFacts {
  /** realpath's exit code (0: the path exists). */
  realpathExit: number;
  realPath: string;
  regularFile: boolean;
  /** The user's home, `undefined` when the host has no such user. */
  home: string | undefined;
  /** The real path of the home (when known), then of each directory given. */
  resolved: string[];
}

/** The script's output; `dirCount` directories were given. Throws `EXEC` on anything else. */
export function parseHostFileOutput(stdout: string, dirCount: number): HostFileFacts {
  const fields = stdout.split('\0');
  const [exit, realPath, regular, home] = fields;
  const resolved = fields.slice(4, -1);
  const expected = dirCount + (home ? 1 : 0);
  if (
    fields.at(-1) !== '' ||
    !/^[0-9]+$/.test(exit ?? '') ||
    (regular !== '0' && regular !== '1') ||
    resolved.length !== expected
  )
    throw new DsError('EXEC', `path check gave ${fields.length - 1} fields (${expected + 4} expected)`);
  return {
    realpathExit: Number(exit),
    realPath: realPath ?? '',
    regularFile: regular === '0',
    home: home || undefined,
    resolved,
  };
}

export interface HostFileRules {
  /** `DATASTORE_LOCATION`: the real path must stay under it, outside VM directories. */
  datastoreLocation: string;
  /** The datastore template's `RESTRICTED_DIRS`/`SAFE_DIRS` (space separated). */
  restrictedDirs: string | undefined;
  safeDirs: string | undefined;
  /** Whose `$HOME` is restricted: the SSH user. */
  user: string;
}

/**
 * A path on the GFS2 mount, checked on `runner`'s host with one command: allowed by
 * RESTRICTED_DIRS/SAFE_DIRS after realpath there (`/var/lib/one`, `/etc/one` and the user's home
 * always restricted; a restricted dir counts under its given and its resolved name, a safe dir
 * only as resolved), still under DATASTORE_LOCATION, not in a VM directory, and a regular file
 * (a symlink to another VM's LV must not be importable). Returns the real path: read that one.
 */
export async function checkHostFile(runner: Runner, path: string, rules: HostFileRules): Promise<string> {
  const given = normalizeAbsolutePath(path);
  const safe = parseDirList(rules.safeDirs, 'SAFE_DIRS');
  const template = parseDirList(rules.restrictedDirs, 'RESTRICTED_DIRS');
  const defaults = DEFAULT_RESTRICTED_DIRS.length;
  const dirs = [...safe, ...DEFAULT_RESTRICTED_DIRS, ...template];
  const result = await runner.run(hostFileArgv(rules.user, given, dirs), {
    reject: false,
    timeoutMs: 60_000,
  });
  if (result.exitCode !== 0)
    throw new DsError('EXEC', `path check of ${given} on ${runner.host} failed (exit ${result.exitCode})`);
  const facts = parseHostFileOutput(result.stdout, dirs.length);
  if (facts.realpathExit !== 0) {
    const detail = result.stderr.trim().split('\n')[0] || 'no output';
    throw new DsError(
      /No such file or directory/.test(result.stderr) ? 'NOT_FOUND' : 'EXEC',
      `realpath ${given} on ${runner.host}: ${detail} (exit ${facts.realpathExit})`,
    );
  }
  const realPath = normalizeAbsolutePath(facts.realPath, `real path of ${given}`);
  const home = facts.home === undefined ? [] : [normalizeAbsolutePath(facts.home, 'home directory')];
  const resolved = facts.resolved.map((dir) => normalizeAbsolutePath(dir, 'resolved directory'));
  const resolvedHome = resolved.slice(0, home.length);
  const resolvedSafe = resolved.slice(home.length, home.length + safe.length);
  const resolvedDefaults = resolved.slice(home.length + safe.length, home.length + safe.length + defaults);
  const resolvedTemplate = resolved.slice(home.length + safe.length + defaults);
  const decision = decideRestriction(realPath, {
    safe: resolvedSafe,
    restricted: [
      ...DEFAULT_RESTRICTED_DIRS,
      ...home,
      ...template,
      ...resolvedDefaults,
      ...resolvedHome,
      ...resolvedTemplate,
    ],
  });
  if (!decision.allowed)
    throw new DsError(
      'FORBIDDEN',
      `path restricted: ${show(given)} resolves into ${decision.restrictedDir} on ${runner.host}`,
    );
  if (!isUnder(realPath, rules.datastoreLocation))
    throw new DsError(
      'FORBIDDEN',
      `${path} resolves to ${realPath} on ${runner.host}, outside ${rules.datastoreLocation}`,
    );
  assertNotInVmDir(realPath, rules.datastoreLocation);
  if (!facts.regularFile)
    throw new DsError('INVALID_ARGUMENT', `${path} is not a regular file on ${runner.host}`);
  return realPath;
}
