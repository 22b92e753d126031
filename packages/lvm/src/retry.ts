import { LvmError } from './errors.js';

export interface RetryOptions {
  /** Total tries including the first, for retryable failures other than a held VG/global lock (default 4). */
  attempts?: number;
  /**
   * How long a VG or global lock held by another host is retried, from the first try (default
   * `DEFAULT_LOCK_WAIT_MS`, 180 s, and at least `attempts` tries): lvmlockd gives up after its own 3 retries, and on a loaded
   * cluster the other host holds the lock again and again. Then the last error is thrown, its
   * message saying so.
   */
  lockWaitMs?: number;
  /** First back-off delay (default 500 ms), doubled each time up to `maxDelayMs` (default 8 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** For tests: how to wait. */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: the clock of `lockWaitMs` (default Date.now). */
  now?: () => number;
  /** For tests: jitter source in [0, 1) (default Math.random). */
  random?: () => number;
}

/**
 * 3 minutes: on the testbed (TCG, sanlock) one try against a held VG lock takes 25–30 s (lvmlockd's
 * own 3 retries), so 4 tries waited about 110 s, and a loaded CI cluster still failed an action.
 */
export const DEFAULT_LOCK_WAIT_MS = 180_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The delay before try `attempt + 1`: exponential, capped, with jitter in [50 %, 100 %]. */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 8000;
  const ceiling = Math.min(max, base * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + 0.5 * (options.random ?? Math.random)()));
}

/** lvmlockd's "VG <vg> lock failed: held by other host." or the global lock's (never an LV lock: not retryable). */
function isHeldLock(error: unknown): error is LvmError {
  return LvmError.hasCode(error, 'LOCKED_BY_OTHER_HOST') && error.isRetryable;
}

/** The held-lock error once the wait is over: the same error, its message saying how long it waited. */
function lockWaitOver(error: LvmError, waitedMs: number, tries: number): LvmError {
  const seconds = Math.round(waitedMs / 1000);
  return new LvmError(
    error.code,
    `${error.message} (still held by another host after ${seconds} s and ${tries} tries; retry.lockWaitMs)`,
    {
      host: error.host,
      argv: error.argv,
      exitCode: error.exitCode,
      stderr: error.stderr,
      logMessages: error.logMessages,
      retryable: true,
      cause: error,
    },
  );
}

/**
 * Runs `fn` until it succeeds or fails with a non-retryable error (thrown as is). Only
 * `LvmError.isRetryable` errors are retried, and bounded: a VG or global lock held by another host
 * until `lockWaitMs` from the first try have passed and `attempts` tries were made, any other
 * retryable failure up to `attempts` tries.
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions | false = {}): Promise<T> {
  if (options === false) return fn();
  const attempts = options.attempts ?? 4;
  const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const start = now();
  let otherFailures = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!LvmError.isRetryable(error)) throw error;
      const delay = backoffDelay(attempt, options);
      if (isHeldLock(error)) {
        // Never fewer tries than `attempts`: a try that lvmlockd itself retries can take many seconds.
        const left = start + lockWaitMs - now();
        if (left <= 0 && attempt >= attempts) throw lockWaitOver(error, now() - start, attempt);
        await sleep(left > 0 ? Math.min(delay, left) : delay);
      } else {
        otherFailures++;
        if (otherFailures >= attempts) throw error;
        await sleep(delay);
      }
    }
  }
}
