import { CodedError } from '@one-gfs2clvm/errors';

/**
 * A step of the demo did not turn out as the story says (a driver answered FAILURE, a lock is not
 * where it must be, a checksum differs). `code` is always `STEP_FAILED`; the message is the one
 * line the demo prints.
 */
export class DemoError extends CodedError<'STEP_FAILED'> {
  static {
    CodedError.register(DemoError, '@one-gfs2clvm/demo/DemoError');
  }
  override readonly name = 'DemoError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('STEP_FAILED', message, { cause: options?.cause });
  }
}
