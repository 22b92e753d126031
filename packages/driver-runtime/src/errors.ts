import { CodedError } from '@one-gfs2clvm/errors';

/**
 * What went wrong in a driver action, decided by the runtime or a TM action (one-image's DS actions
 * have `DsError` for their own decisions; the libraries' own errors — `LvmError`, `Gfs2Error`,
 * `RemoteError` — pass through unchanged; these are the driver's own decisions):
 * * `USAGE` — wrong number of arguments for the action.
 * * `INVALID_ARGUMENT` — an argument is malformed (id, size, format, image source).
 * * `UNSUPPORTED` — the action or this case of it is not supported (snapshots, backups, thin live migration).
 * * `CONFIG` — the driver configuration or a datastore attribute is invalid.
 * * `ONED` — the OpenNebula client failed or returned something unusable.
 * * `NOT_FOUND` — the VM, disk, datastore or LV the action needs does not exist.
 * * `FORBIDDEN` — the path policy refuses a file the VM names (context file in a restricted dir).
 * * `CONFLICT` — the state forbids the action (LV active on another host, VM running for cpds).
 * * `NO_HOST` — no hypervisor host is available to do the work (BRIDGE_LIST empty / all down).
 * * `LOCK_TIMEOUT` — a front-end lock (of a lock-mode `none` VG, or an image lease) could not be taken in time.
 * * `EXEC` — a host command failed (stderr attached).
 */
export type DriverErrorCode =
  | 'USAGE'
  | 'INVALID_ARGUMENT'
  | 'UNSUPPORTED'
  | 'CONFIG'
  | 'ONED'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'NO_HOST'
  | 'LOCK_TIMEOUT'
  | 'EXEC';

export interface DriverErrorDetails {
  cause?: unknown;
  retryable?: boolean;
}

/**
 * The driver's own error: `message` is the one plain line the user sees (essential words first).
 * A driver with codes of its own extends it (one-image's `DsError`: `DriverError<DsErrorCode>`).
 */
export class DriverError<Code extends string = DriverErrorCode> extends CodedError<Code> {
  static {
    CodedError.register(DriverError, '@one-gfs2clvm/driver-runtime/DriverError');
  }
  /** `TmError`, the word oned.log's `ERROR:` lines have always carried for these errors. */
  override readonly name: string = 'TmError';

  constructor(code: Code, message: string, details: DriverErrorDetails = {}) {
    super(code, message, details);
  }
}
