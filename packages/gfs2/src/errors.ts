import { CodedError } from '@one-gfs2clvm/errors';

export type Gfs2ErrorCode =
  /** An argument is not a well-formed `host:path`, path, host name, id or device path. */
  | 'INVALID_PATH'
  /** A path lies outside `<DATASTORE_LOCATION>/<ds id>/` or is not of the expected form. */
  | 'OUTSIDE_DATASTORE'
  /** The path is not on a mounted GFS2 (or does not exist because GFS2 is not mounted). */
  | 'NOT_GFS2'
  /** The GFS2 holding the path has withdrawn (or answers with I/O errors). */
  | 'WITHDRAWN'
  /** The GFS2 is mounted read-only where a write is needed. */
  | 'READ_ONLY'
  /** The path does not exist on the host (where it must). */
  | 'NOT_FOUND'
  /** The path resolves into a restricted directory (`RESTRICTED_DIRS`, not under `SAFE_DIRS`). */
  | 'RESTRICTED'
  /** The image references other files: backing file, external data file, foreign VMDK extents. */
  | 'UNSAFE_IMAGE'
  /** The image format (or an image feature such as encryption) is not accepted. */
  | 'UNSUPPORTED_IMAGE'
  /** `qemu-img info` failed or printed something that is not the expected JSON. */
  | 'PROBE_FAILED'
  /** A host command failed for another reason (the cause is attached). */
  | 'EXEC';

export interface Gfs2ErrorOptions {
  /** The host the failing check ran on, when there is one. */
  host?: string;
  /** The path concerned. */
  path?: string;
  cause?: unknown;
  /** The same call may succeed later (a lost connection, a timeout); default `false`. */
  retryable?: boolean;
}

/**
 * The one error class of this library. `message` is one line with the essential words first
 * (OpenNebula shows about 60 characters of it to the user). `isRetryable`: trying the same call
 * again may succeed (connection lost, timed out); input errors never. `Gfs2Error.isInstance` is true
 * for a `Gfs2Error` from any copy of this library (works across duplicate installs).
 */
export class Gfs2Error extends CodedError<Gfs2ErrorCode> {
  static {
    CodedError.register(Gfs2Error, 'one-gfs2clvm.gfs2.Gfs2Error');
  }
  readonly host: string | undefined;
  readonly path: string | undefined;

  constructor(code: Gfs2ErrorCode, message: string, options: Gfs2ErrorOptions = {}) {
    super(code, oneLine(message), options);
    this.name = 'Gfs2Error';
    this.host = options.host;
    this.path = options.path;
  }
}

/** Control characters from hostile input must not split the one-line message. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}
