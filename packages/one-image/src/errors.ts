import { DriverError, type DriverErrorCode } from '@one-gfs2clvm/driver-runtime';
import { CodedError } from '@one-gfs2clvm/errors';

/**
 * What went wrong in a DS action: the runtime's codes but `LOCK_TIMEOUT`, and two of its own. The
 * libraries' own errors — `LvmError`, `Gfs2Error`, `RemoteError`, driver-runtime's own
 * `DriverError`s — pass through unchanged; these are the driver's own decisions:
 * * `USAGE` — wrong number of arguments for the action.
 * * `INVALID_ARGUMENT` — the payload or one of its values is malformed (id, PATH, size, XML).
 * * `UNSUPPORTED` — the action or this case of it is not supported (snapshots, export, restore).
 * * `CONFIG` — the driver configuration or a datastore attribute is invalid.
 * * `ONED` — the OpenNebula client failed or returned something unusable.
 * * `NOT_FOUND` — the source VM, disk, image, file or LV does not exist.
 * * `CONFLICT` — the state forbids the action (source VM running, persistent image in use).
 * * `FORBIDDEN` — the image's owner may not use the source (VM, image, restricted directory).
 * * `NO_HOST` — no host is available to do the work (BRIDGE_LIST empty / all down, no cluster host).
 * * `NO_SPACE` — a download or upload does not fit in the free space of the staging file system.
 * * `TOO_LARGE` — the image's virtual size exceeds the SIZE oned accounted for it (`stat`'s answer).
 * * `EXEC` — a host command failed (stderr attached).
 */
export type DsErrorCode = Exclude<DriverErrorCode, 'LOCK_TIMEOUT'> | 'NO_SPACE' | 'TOO_LARGE';

/**
 * The DS driver's own error: a `DriverError` with the DS codes, named `DsError` in oned.log's
 * `ERROR:` lines; `message` is the one plain line the user sees (essential words first).
 */
export class DsError extends DriverError<DsErrorCode> {
  static {
    CodedError.register(DsError, '@one-gfs2clvm/one-image/DsError');
  }
  override readonly name: string = 'DsError';
}
