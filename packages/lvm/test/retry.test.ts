import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../src/classify.js';
import { DEFAULT_LOCK_WAIT_MS, LvmError, type RetryOptions, withRetry } from '../src/index.js';

/** A failure as lvmlockd reports it on stderr (exit 5), classified as the library does. */
function lockFailure(stderr: string): LvmError {
  return classifyFailure({
    what: 'lvchange vg-one-100/lv-one-7-0 on node1',
    host: 'node1',
    argv: ['lvm', 'lvchange'],
    exitCode: 5,
    stderr,
    log: [],
  });
}

const VG_HELD =
  '  Retrying ex lock on VG vg-one-100\n  Retrying ex lock on VG vg-one-100\n  Retrying ex lock on VG vg-one-100\n  VG vg-one-100 lock failed: held by other host.\n';
const GLOBAL_HELD = '  Global lock failed: held by other host.\n';
const LV_HELD = '  LV locked by other host: vg-one-100/lv-one-7-0\n';

/** A fake clock that only the fake sleep moves, plus `cost` ms per try (a command takes time). */
function fakeTime(cost = 0) {
  let clock = 0;
  const sleeps: number[] = [];
  let tries = 0;
  const options: RetryOptions = {
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    random: () => 0.999_999, // no jitter
  };
  /** `fn` that fails with `error` `failures` times (forever when omitted), then returns 'ok'. */
  const failing =
    (error: LvmError, failures = Number.POSITIVE_INFINITY) =>
    async () => {
      tries++;
      clock += cost;
      if (tries <= failures) throw error;
      return 'ok';
    };
  return { options, sleeps, failing, tries: () => tries, clock: () => clock };
}

describe('withRetry: a VG or global lock held by another host is waited for, within a time budget', () => {
  it('the default budget is 180 s of backoff (at most 8 s apart), not a count of tries', async () => {
    const t = fakeTime(2000); // each try takes 2 s, as on a loaded cluster
    const error = await withRetry(t.failing(lockFailure(VG_HELD)), t.options).catch((e: unknown) => e);
    expect(DEFAULT_LOCK_WAIT_MS).toBe(180_000);
    expect(LvmError.hasCode(error, 'LOCKED_BY_OTHER_HOST')).toBe(true);
    expect(t.sleeps.slice(0, 5)).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(Math.max(...t.sleeps)).toBe(8000);
    // Bounded: no try starts after the budget; the last ends at most one command later.
    expect(t.clock()).toBeGreaterThanOrEqual(180_000);
    expect(t.clock()).toBeLessThanOrEqual(180_000 + 2000);
    expect(t.tries()).toBe(t.sleeps.length + 1);
    expect(t.tries()).toBeGreaterThan(4);
    expect((error as LvmError).message).toMatch(
      /^lvchange vg-one-100\/lv-one-7-0 on node1: VG vg-one-100 lock failed: held by other host\. \(still held by another host after 18[0-2] s and \d+ tries; retry\.lockWaitMs\)$/,
    );
    expect((error as LvmError).cause).toBeInstanceOf(LvmError);
    expect((error as LvmError).stderr).toBe(VG_HELD);
  });

  it('succeeds once the other host lets go, after more tries than `attempts`', async () => {
    const t = fakeTime(1000);
    const result = await withRetry(t.failing(lockFailure(VG_HELD), 7), { ...t.options, attempts: 2 });
    expect(result).toBe('ok');
    expect(t.tries()).toBe(8);
  });

  it('never fewer than `attempts` tries, when each try (lvmlockd retrying inside) takes long', async () => {
    const t = fakeTime(30_000);
    const error = await withRetry(t.failing(lockFailure(VG_HELD)), {
      ...t.options,
      lockWaitMs: 10_000,
    }).catch((e: unknown) => e);
    expect(LvmError.hasCode(error, 'LOCKED_BY_OTHER_HOST')).toBe(true);
    expect(t.tries()).toBe(4);
    expect(t.sleeps).toEqual([500, 1000, 2000]);
  });

  it('the global lock the same way', async () => {
    const t = fakeTime(1000);
    expect(lockFailure(GLOBAL_HELD).isRetryable).toBe(true);
    expect(await withRetry(t.failing(lockFailure(GLOBAL_HELD), 5), t.options)).toBe('ok');
    const error = await withRetry(t.failing(lockFailure(GLOBAL_HELD)), {
      ...t.options,
      lockWaitMs: 5000,
    }).catch((e: unknown) => e);
    expect((error as LvmError).message).toContain('Global lock failed: held by other host. (still held');
  });

  it('lockWaitMs is configurable; the last sleep ends at the budget', async () => {
    const t = fakeTime();
    const error = await withRetry(t.failing(lockFailure(VG_HELD)), { ...t.options, lockWaitMs: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(t.sleeps).toEqual([500, 1000, 500]);
    expect(t.tries()).toBe(4);
    expect((error as LvmError).message).toContain('after 2 s and 4 tries');
  });

  it('retry: false runs once, the error as is', async () => {
    const t = fakeTime();
    const held = lockFailure(VG_HELD);
    await expect(withRetry(t.failing(held), false)).rejects.toBe(held);
    expect(t.tries()).toBe(1);
  });
});

describe('withRetry: what is never retried, or only `attempts` times', () => {
  it('an LV lock held by another host is a refusal: one try, the error as is', async () => {
    const t = fakeTime();
    const lvHeld = lockFailure(LV_HELD);
    expect(lvHeld.code).toBe('LOCKED_BY_OTHER_HOST');
    expect(lvHeld.isRetryable).toBe(false);
    const error = await withRetry(t.failing(lvHeld), t.options).catch((e: unknown) => e);
    expect(error).toBe(lvHeld);
    expect(t.tries()).toBe(1);
    expect(t.sleeps).toEqual([]);
  });

  it('an LV lock held elsewhere stays a refusal even when lvmlockd retried the VG lock first', async () => {
    const both = lockFailure(`  Retrying ex lock on VG vg-one-100\n${LV_HELD}`);
    expect(both.isRetryable).toBe(false);
    const t = fakeTime();
    await expect(withRetry(t.failing(both), t.options)).rejects.toBe(both);
    expect(t.tries()).toBe(1);
  });

  it('other retryable failures (a lockspace starting) stop after `attempts` tries', async () => {
    const t = fakeTime();
    const starting = lockFailure('  VG vg-one-100 lock failed: lock start in progress\n');
    expect(starting.isRetryable).toBe(true);
    await expect(withRetry(t.failing(starting), { ...t.options, attempts: 3 })).rejects.toBe(starting);
    expect(t.tries()).toBe(3);
    expect(t.sleeps).toEqual([500, 1000]);
  });
});
