import { CodedError } from '@one-gfs2clvm/errors';

/**
 * What went wrong, as one string union (see README "Errors"):
 * * `NOT_FOUND` — the VG or LV does not exist.
 * * `ALREADY_EXISTS` — an LV of that name exists.
 * * `INSUFFICIENT_SPACE` — not enough free extents in the VG (or thin pool).
 * * `LOCKED_BY_OTHER_HOST` — lvmlockd refused: another host holds the LV lock (activation) or the VG /
 *   global lock (metadata change; that one is brief, hence retryable).
 * * `LOCKSPACE_NOT_STARTED` — the VG's lvmlockd lockspace is not started on this host (`lockStart`);
 *   retryable while the start is in progress.
 * * `IN_USE` — the LV is open (a VM or a mount uses it) or its device is busy.
 * * `METADATA_FULL` — the VG metadata area is full; no more LVs/changes fit.
 * * `TIMEOUT` — the command did not finish in time (its effect is unknown).
 * * `PARSE` — LVM printed something this library cannot read.
 * * `EXEC` — any other failure of the command (see `exitCode`, `stderr`).
 * * `INVALID_ARGUMENT` — refused before running anything (a bad name, size, tag), or LVM refused the
 *   command line (exit 3).
 * * `UNSUPPORTED` — the operation is not possible in this mode (shrink, shared thin activation…).
 * * `LOCK_CALLBACK_MISSING` — a metadata change on a VG of lock mode `none` without `onMetadataLock`.
 * * `LOCK_MODE_MISMATCH` — the host helper found the VG's lock mode other than the caller's
 *   (`expect <mode> <verb> …`, exit 65): nothing was run (`lockModeMismatch` says which mode it has).
 */
export type LvmErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INSUFFICIENT_SPACE'
  | 'LOCKED_BY_OTHER_HOST'
  | 'LOCKSPACE_NOT_STARTED'
  | 'IN_USE'
  | 'METADATA_FULL'
  | 'TIMEOUT'
  | 'PARSE'
  | 'EXEC'
  | 'INVALID_ARGUMENT'
  | 'UNSUPPORTED'
  | 'LOCK_CALLBACK_MISSING'
  | 'LOCK_MODE_MISMATCH';

export interface LvmErrorDetails {
  host?: string;
  argv?: readonly string[];
  exitCode?: number | null;
  stderr?: string;
  /** Messages of the JSON `log` section (errors and warnings), in order. */
  logMessages?: readonly string[];
  retryable?: boolean;
  cause?: unknown;
}

/**
 * The one error type of this library; `code` says what happened, the rest what was run.
 * `LvmError.isInstance` is a realm-free `instanceof` that also works across duplicate copies of this
 * package; `LvmError.hasCode(e, 'NOT_FOUND')` and `LvmError.isRetryable(e)` check one as well.
 */
export class LvmError extends CodedError<LvmErrorCode> {
  static {
    CodedError.register(LvmError, '@one-gfs2clvm/lvm/LvmError');
  }
  override readonly name = 'LvmError';
  readonly host: string;
  /** The argv as run (with the prefix), empty when refused before running. */
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly logMessages: readonly string[];

  constructor(code: LvmErrorCode, message: string, details: LvmErrorDetails = {}) {
    super(code, message, { cause: details.cause, retryable: details.retryable });
    this.host = details.host ?? '';
    this.argv = details.argv ?? [];
    this.exitCode = details.exitCode ?? null;
    this.stderr = details.stderr ?? '';
    this.logMessages = details.logMessages ?? [];
  }
}

/** Refusal before anything runs: one clear line naming the bad value. */
export function invalidArgument(message: string): LvmError {
  return new LvmError('INVALID_ARGUMENT', message);
}
