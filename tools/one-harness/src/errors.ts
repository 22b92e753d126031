import { CodedError } from '@one-gfs2clvm/errors';

/**
 * Why the harness refused a request. These are mistakes of the calling test, never results of a
 * driver script (those are protocol replies):
 * * `INVALID_ARGUMENT` — an id, action word or option the real protocol could not carry
 *   (whitespace or newline inside a word, a VM id that is not a number, concurrency < 1 …).
 * * `UNKNOWN_ACTION` — a DS action `one_datastore.rb` does not register (it would drop the line).
 * * `IO_FAILED` — the harness could not write a transfer file.
 */
export type HarnessErrorCode = 'INVALID_ARGUMENT' | 'UNKNOWN_ACTION' | 'IO_FAILED';

/**
 * The one error type of this library; `code` says what was wrong. `HarnessError.isInstance` works
 * across copies of this package (a realm-free `instanceof`). Never retryable: every code is a
 * mistake in the request, repeating it cannot help.
 */
export class HarnessError extends CodedError<HarnessErrorCode> {
  static {
    CodedError.register(HarnessError, '@one-gfs2clvm/one-harness/HarnessError');
  }
  override readonly name = 'HarnessError';

  constructor(code: HarnessErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { cause: options?.cause });
  }
}
