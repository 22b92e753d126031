import { LvmError } from './errors.js';

export interface RetryOptions {
  /** Total tries including the first (default 4). */
  attempts?: number;
  /** First back-off delay (default 500 ms), doubled each time up to `maxDelayMs` (default 8 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** For tests: how to wait. */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: jitter source in [0, 1) (default Math.random). */
  random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The delay before try `attempt + 1`: exponential, capped, with jitter in [50 %, 100 %]. */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 8000;
  const ceiling = Math.min(max, base * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + 0.5 * (options.random ?? Math.random)()));
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or `attempts` are used up
 * (bounded: the last error is thrown as is). Only `LvmError.isRetryable` errors are retried.
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions | false = {}): Promise<T> {
  const attempts = options === false ? 1 : (options.attempts ?? 4);
  const sleep = (options === false ? undefined : options.sleep) ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !LvmError.isRetryable(error)) throw error;
      await sleep(backoffDelay(attempt, options === false ? {} : options));
    }
  }
}
