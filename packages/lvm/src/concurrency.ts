import pLimit, { type LimitFunction } from 'p-limit';
import { LvmError } from './errors.js';

/**
 * At most N LVM commands at once per host: every LVM command scans devices and takes the VG lock,
 * so a burst of them (a datastore monitor, many VMs starting) only queues up inside LVM and
 * slows everyone down (vdsm caps them the same way). One limiter is shared by every `Lvm` of the
 * process that talks to the same host, unless the caller passes its own.
 */
export class HostLimiter {
  readonly #max: number;
  readonly #limits = new Map<string, LimitFunction>();

  constructor(maxConcurrentPerHost: number) {
    if (!Number.isSafeInteger(maxConcurrentPerHost) || maxConcurrentPerHost < 1)
      throw new LvmError(
        'INVALID_ARGUMENT',
        `maxConcurrent ${maxConcurrentPerHost} is not a positive integer`,
      );
    this.#max = maxConcurrentPerHost;
  }

  get maxConcurrentPerHost(): number {
    return this.#max;
  }

  run<T>(host: string, fn: () => Promise<T>): Promise<T> {
    let limit = this.#limits.get(host);
    if (!limit) {
      limit = pLimit(this.#max);
      this.#limits.set(host, limit);
    }
    return limit(fn);
  }

  /** Commands running plus waiting for `host`. */
  pending(host: string): number {
    const limit = this.#limits.get(host);
    return limit ? limit.activeCount + limit.pendingCount : 0;
  }
}

export const DEFAULT_MAX_CONCURRENT = 4;
const shared = new Map<number, HostLimiter>();

/** The process-wide limiter for a given cap. */
export function sharedHostLimiter(maxConcurrentPerHost = DEFAULT_MAX_CONCURRENT): HostLimiter {
  let limiter = shared.get(maxConcurrentPerHost);
  if (!limiter) {
    limiter = new HostLimiter(maxConcurrentPerHost);
    shared.set(maxConcurrentPerHost, limiter);
  }
  return limiter;
}
