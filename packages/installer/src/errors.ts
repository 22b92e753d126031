const MARKER = Symbol.for('one-gfs2clvm.InstallerError');

export type InstallerErrorCode =
  /** Wrong command line. */
  | 'USAGE'
  /** A file the installer must edit is missing or cannot be parsed safely. */
  | 'PARSE'
  /** A rendered file failed its validation (visudo, JavaScript syntax …); nothing was installed. */
  | 'VALIDATION'
  /** The TM/DS driver package to copy has not been built (or is not installed). */
  | 'DRIVER_NOT_BUILT'
  /** The manifest is missing or unreadable. */
  | 'MANIFEST'
  /** A system command (udevadm, systemctl, vgcreate …) failed. */
  | 'COMMAND'
  /** A file system operation failed. */
  | 'IO';

/** The one error class of the installer: one plain line for the operator, a code for programs. */
export class InstallerError extends Error {
  readonly code: InstallerErrorCode;
  readonly [MARKER] = true;

  constructor(code: InstallerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InstallerError';
    this.code = code;
  }

  /** True across copies of the package (instanceof is not). */
  static isInstance(value: unknown): value is InstallerError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }

  /** None of these go away by retrying the same command unchanged. */
  get isRetryable(): boolean {
    return this.code === 'COMMAND';
  }
}
