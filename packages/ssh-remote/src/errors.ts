import { CodedError } from '@one-gfs2clvm/errors';

/**
 * Why a command failed. Connection failures are told apart so an operator knows what to fix:
 * * `UNREACHABLE` — TCP connect failed or timed out (host down, wrong port, firewall).
 * * `AUTH_FAILED` — sshd refused every key offered (authorized_keys, user, key files, agent).
 * * `HOST_KEY_UNKNOWN` — the host is not in known_hosts and the policy is `strict`.
 * * `HOST_KEY_MISMATCH` — known_hosts has a different (or revoked) key for the host.
 * * `CONNECTION_LOST` — the SSH connection ended while the command ran (its result is unknown).
 * * `TIMEOUT` — `timeoutMs` passed; the command was killed (on the host too).
 * * `ABORTED` — the caller's `AbortSignal` fired; the command was killed.
 * * `EXIT` — the command ran and exited non-zero or was killed by a signal.
 * * `SPAWN_FAILED` — a local command could not be started (not found, not executable).
 * * `STREAM_FAILED` — a local stdin/stdout stream failed.
 * * `INVALID_ARGUMENT` — bad input to this library (NUL byte, empty argv, bad option).
 */
export type RemoteErrorCode =
  | 'UNREACHABLE'
  | 'AUTH_FAILED'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_MISMATCH'
  | 'CONNECTION_LOST'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'EXIT'
  | 'SPAWN_FAILED'
  | 'STREAM_FAILED'
  | 'INVALID_ARGUMENT';

const RETRYABLE: ReadonlySet<RemoteErrorCode> = new Set(['UNREACHABLE', 'CONNECTION_LOST']);
/** Enough of stderr to show the cause without flooding a log line. */
const STDERR_TAIL_BYTES = 2000;

export interface RemoteErrorDetails {
  host?: string;
  argv?: readonly string[];
  exitCode?: number | null;
  signal?: string | null;
  stderr?: string;
  timedOut?: boolean;
  cause?: unknown;
}

/**
 * The one error type of this library; `code` says what happened. `RemoteError.isInstance` works
 * across copies of this package (a realm-free `instanceof`); `RemoteError.isRetryable(e)` and
 * `retryable` are true for failures where trying again later may succeed (the host may come back).
 */
export class RemoteError extends CodedError<RemoteErrorCode> {
  static {
    CodedError.register(RemoteError, '@one-gfs2clvm/ssh-remote/RemoteError');
  }
  override readonly name = 'RemoteError';
  readonly host: string;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The last ~2000 characters of stderr. */
  readonly stderrTail: string;
  readonly timedOut: boolean;

  constructor(code: RemoteErrorCode, message: string, details: RemoteErrorDetails = {}) {
    super(code, message, { cause: details.cause, retryable: RETRYABLE.has(code) });
    this.host = details.host ?? '';
    this.argv = details.argv ?? [];
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
    this.stderrTail = stderrTail(details.stderr ?? '');
    this.timedOut = details.timedOut ?? code === 'TIMEOUT';
  }

  /** The same as `isRetryable`. */
  get retryable(): boolean {
    return this.isRetryable;
  }
}

export function stderrTail(stderr: string): string {
  const trimmed = stderr.trimEnd();
  return trimmed.length <= STDERR_TAIL_BYTES ? trimmed : `…${trimmed.slice(-STDERR_TAIL_BYTES)}`;
}

/** `node1: lvs -o lv_name vg1` — short and readable; the exact argv is on the error object. */
export function describeCommand(host: string, argv: readonly string[]): string {
  const shown = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return `${host}: ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`;
}

/** The `EXIT` error for a command that finished unsuccessfully. */
export function exitError(
  host: string,
  argv: readonly string[],
  exitCode: number | null,
  signal: string | null,
  stderr: string,
): RemoteError {
  const how = signal === null ? `exited with code ${exitCode}` : `was killed by ${signal}`;
  const lastLine = stderr.trimEnd().split('\n').at(-1) ?? '';
  const message = `${describeCommand(host, argv)} ${how}${lastLine ? `: ${lastLine}` : ''}`;
  return new RemoteError('EXIT', message, { host, argv, exitCode, signal, stderr });
}
