/**
 * Why the harness refused a request. These are mistakes of the calling test, never results of a
 * driver script (those are protocol replies):
 * * `INVALID_ARGUMENT` — an id, action word or option the real protocol could not carry
 *   (whitespace or newline inside a word, a VM id that is not a number, concurrency < 1 …).
 * * `UNKNOWN_ACTION` — a DS action `one_datastore.rb` does not register (it would drop the line).
 * * `IO_FAILED` — the harness could not write a transfer file.
 */
export type HarnessErrorCode = 'INVALID_ARGUMENT' | 'UNKNOWN_ACTION' | 'IO_FAILED';

const MARKER = Symbol.for('@one-gfs2clvm/one-harness/HarnessError');

/** The one error type of this library; `code` says what was wrong. */
export class HarnessError extends Error {
  override readonly name = 'HarnessError';
  readonly code: HarnessErrorCode;

  constructor(code: HarnessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** Works across copies of this package (a realm-free `instanceof`). */
  static isInstance(value: unknown): value is HarnessError {
    return typeof value === 'object' && value !== null && MARKER in value;
  }

  /** Never: every code is a mistake in the request, repeating it cannot help. */
  get isRetryable(): boolean {
    return false;
  }
}
