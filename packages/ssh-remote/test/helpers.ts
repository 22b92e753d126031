import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RemoteError } from '../src/index.js';

/** Awaits a promise that must reject with a RemoteError, and returns that error. */
export async function failure(promise: Promise<unknown>): Promise<RemoteError> {
  const err = await promise.then(
    () => new Error('expected a rejection, got a result'),
    (e: unknown) => e,
  );
  if (!RemoteError.isInstance(err)) throw err;
  return err;
}

/**
 * Command lines of the processes whose command line matches `pattern` (a pgrep regex; a plain marker
 * matches anywhere). The test sshd runs on this machine, so its commands are visible here.
 */
export function processesWith(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', pattern], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Waits (up to `ms`) until no process has `marker` in its command line; returns what is left. */
export async function waitUntilGone(marker: string, ms = 10_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesWith(marker);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitUntilRunning(pattern: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (processesWith(pattern).length === 0) {
    if (Date.now() > deadline) throw new Error(`no process matching ${pattern} started`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A marker unique to one test, to find its remote processes. */
export function uniqueMarker(): string {
  return `ssh-remote-marker-${randomBytes(6).toString('hex')}`;
}

/** Calls `fn`, which must throw, and returns what it threw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
