import {
  type Argv,
  RemoteError,
  type Runner,
  type RunOptions,
  type RunResult,
} from '@one-gfs2clvm/ssh-remote';
import { Gfs2Error, type Gfs2ErrorCode } from './errors.js';

/**
 * Runs argv without rejecting on a non-zero exit (the callers read the exit code and stderr to
 * tell "missing" from "failed"); a runner failure (connection, timeout, abort) becomes an `EXEC`.
 */
export async function runOnHost(
  runner: Runner,
  argv: Argv,
  options: Omit<RunOptions, 'reject'> = {},
): Promise<RunResult> {
  try {
    return await runner.run(argv, { ...options, reject: false });
  } catch (error) {
    throw new Gfs2Error('EXEC', `${argv[0]} on ${runner.host}: ${firstLine(messageOf(error))}`, {
      host: runner.host,
      cause: error,
      retryable: RemoteError.isRetryable(error) || isTimeout(error),
    });
  }
}

/** The command behind `error` was killed because its `timeoutMs` passed. */
export function isTimeout(error: unknown): boolean {
  const cause = Gfs2Error.isInstance(error) ? error.cause : error;
  return RemoteError.isInstance(cause) && cause.code === 'TIMEOUT';
}

/** The error for a command that ended badly: what, where, then the tool's own first stderr line. */
export function commandFailed(
  result: RunResult,
  what: string,
  code: Gfs2ErrorCode = 'EXEC',
  path?: string,
): Gfs2Error {
  const status = result.exitCode === null ? `signal ${result.signal ?? '?'}` : `exit ${result.exitCode}`;
  const detail = firstLine(result.stderr) || firstLine(result.stdout) || 'no output';
  return new Gfs2Error(code, `${what} on ${result.host}: ${detail} (${status})`, {
    host: result.host,
    ...(path === undefined ? {} : { path }),
  });
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line !== '') ?? ''
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
