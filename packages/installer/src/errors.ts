import { CodedError } from '@one-gfs2clvm/errors';

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

/**
 * The one error class of the installer: one plain line for the operator, a code for programs.
 * `InstallerError.isInstance` is true across copies of the package (instanceof is not). Only a
 * failed system command (`COMMAND`) is retryable: none of the others go away by retrying the same
 * command unchanged.
 */
export class InstallerError extends CodedError<InstallerErrorCode> {
  static {
    CodedError.register(InstallerError, 'one-gfs2clvm.InstallerError');
  }

  constructor(code: InstallerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { cause: options?.cause, retryable: code === 'COMMAND' });
    this.name = 'InstallerError';
  }
}
