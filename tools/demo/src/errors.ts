const MARKER = Symbol.for('@one-gfs2clvm/demo/DemoError');

/**
 * A step of the demo did not turn out as the story says (a driver answered FAILURE, a lock is not
 * where it must be, a checksum differs). `code` is always `STEP_FAILED`; the message is the one
 * line the demo prints.
 */
export class DemoError extends Error {
  override readonly name = 'DemoError';
  readonly code = 'STEP_FAILED' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.defineProperty(this, MARKER, { value: true });
  }

  static isInstance(value: unknown): value is DemoError {
    return typeof value === 'object' && value !== null && MARKER in value;
  }

  get isRetryable(): boolean {
    return false;
  }
}
