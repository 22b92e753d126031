import { LvmError } from '../src/index.js';

/** The LvmError `promise` rejects with; any other rejection is rethrown, and a success fails the test. */
export async function failure(promise: Promise<unknown>): Promise<LvmError> {
  try {
    await promise;
  } catch (error) {
    if (LvmError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected an LvmError, the operation succeeded');
}
