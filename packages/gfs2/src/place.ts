import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { RemoteError, type Runner, type RunResult, sendToRemote } from '@one-gfs2clvm/ssh-remote';
import { removeFileArgv, renameArgv, writeStdinArgv } from './argv.js';
import { Gfs2Error } from './errors.js';
import { isTimeout } from './exec.js';
import { normalizeAbsolutePath, recheckLocation, type VmLocation } from './paths.js';
import { show } from './show.js';

/**
 * Placing a file atomically in a VM directory on GFS2: the content goes under a temporary name in
 * the same directory (`.<name>.<random>.tmp`), then rename(2) puts it at its name in one step, so
 * no host ever sees half a file (or, for `linkDisk`, no `disk.N` at all); the temporary entry is
 * removed again when anything fails.
 */

/** A plain entry name: letters, digits, `_+.-`, not starting with `.` (temporary names) or `-`. */
const ENTRY_NAME = /^[A-Za-z0-9_+][A-Za-z0-9_+.-]{0,127}$/;
const TOKEN = /^[0-9a-f]{8,32}$/;

/** Default limit of the write (the whole transfer). */
export const DEFAULT_WRITE_TIMEOUT_MS = 600_000;
/** Default limit of the rename and of the removal of the temporary file. */
export const DEFAULT_PLACE_TIMEOUT_MS = 60_000;

/** A random token for a temporary name. */
export function placementToken(): string {
  return randomBytes(6).toString('hex');
}

/**
 * `<dir>/.<name>.<token>.tmp`, the temporary name of an entry placed at `<dir>/<name>`. `name` must
 * be a plain entry name: `..`, `/`, a leading `-` or `.`, shell metacharacters, control
 * characters are refused with one `INVALID_PATH` line.
 */
export function temporaryPath(dir: string, name: string, token: string): string {
  const base = normalizeAbsolutePath(dir, 'directory');
  if (typeof name !== 'string' || !ENTRY_NAME.test(name))
    throw new Gfs2Error('INVALID_PATH', `file name ${show(String(name))} is not a plain name in ${base}`, {
      path: base,
    });
  if (typeof token !== 'string' || !TOKEN.test(token))
    throw new Gfs2Error('INVALID_PATH', `temporary token ${show(String(token))} is not hex`);
  return `${base}/.${name}.${token}.tmp`;
}

/** The commands of `placeFile`, each an argv for the host. */
export interface PlaceFileArgv {
  /** `<dir>/.<name>.<token>.tmp`, where the content is written first. */
  temporary: string;
  /** `<dir>/<name>`, where it ends up. */
  path: string;
  /** stdin into `temporary`. */
  write: string[];
  /** rename(2) of `temporary` onto `path` (atomic replace; a directory there is an error). */
  rename: string[];
  /** Removes `temporary` after a failure. */
  cleanup: string[];
}

/** Pure: the commands that place a file `name` in `dir` (validated as `temporaryPath` says). */
export function placeFileArgv(dir: string, name: string, token: string): PlaceFileArgv {
  const temporary = temporaryPath(dir, name, token);
  const path = `${normalizeAbsolutePath(dir, 'directory')}/${name}`;
  return {
    temporary,
    path,
    write: writeStdinArgv(temporary),
    rename: renameArgv(temporary, path),
    cleanup: removeFileArgv(temporary),
  };
}

export interface PlaceFileOptions {
  /** Limit of the write, the whole transfer; default `DEFAULT_WRITE_TIMEOUT_MS` (10 minutes). */
  writeTimeoutMs?: number;
  /** Limit of the rename and of the cleanup; default `DEFAULT_PLACE_TIMEOUT_MS` (60 s). */
  timeoutMs?: number;
}

export interface PlacedFile {
  /** `<vm dir>/<name>` on the host. */
  path: string;
  /** Bytes sent from `source`. */
  bytes: number;
}

/**
 * Places `source` (a local file path, or a stream) as `<vm dir>/<name>` on the runner's host,
 * atomically: written to `<vm dir>/.<name>.<random>.tmp`, then renamed onto `<name>` (an existing
 * file is replaced in one step; a directory there is refused). On any failure — the write, the
 * rename, the connection, a timeout, the source — the temporary file is removed and a `Gfs2Error`
 * says which step failed. Call `ensureVmDir` first. A bad name is refused before anything runs.
 */
export async function placeFile(
  runner: Runner,
  location: VmLocation,
  name: string,
  source: string | Readable,
  options: PlaceFileOptions = {},
): Promise<PlacedFile> {
  const argv = placeFileArgv(recheckLocation(location).vmDir, name, placementToken());
  const timeoutMs = options.timeoutMs ?? DEFAULT_PLACE_TIMEOUT_MS;
  const step = async <R extends RunResult>(what: string, run: () => Promise<R>): Promise<R> => {
    const result = await run().catch(async (error: unknown) => {
      await discard(runner, argv, timeoutMs);
      throw new Gfs2Error('EXEC', error instanceof Error ? error.message : String(error), {
        host: runner.host,
        path: argv.path,
        cause: error,
        retryable: RemoteError.isRetryable(error) || isTimeout(error),
      });
    });
    if (result.exitCode === 0) return result;
    await discard(runner, argv, timeoutMs);
    const tail = result.stderr.trim().split('\n').slice(-1)[0] ?? '';
    throw new Gfs2Error('EXEC', `${what} failed on ${runner.host} (exit ${result.exitCode}): ${tail}`, {
      host: runner.host,
      path: argv.path,
    });
  };
  const writeTimeoutMs = options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  const sent = await step(`write ${argv.temporary}`, () =>
    sendToRemote(runner, argv.write, source, { reject: false, timeoutMs: writeTimeoutMs }),
  );
  await step(`rename to ${argv.path}`, () => runner.run(argv.rename, { reject: false, timeoutMs }));
  return { path: argv.path, bytes: sent.bytesSent };
}

/** Removes the temporary file after a failure; its own failure adds nothing to the first one. */
async function discard(runner: Runner, argv: PlaceFileArgv, timeoutMs: number): Promise<void> {
  await runner.run(argv.cleanup, { reject: false, timeoutMs }).catch(() => undefined);
}
