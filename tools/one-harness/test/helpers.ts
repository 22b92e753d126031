import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach } from 'vitest';

const FIXTURE_REMOTES = join(import.meta.dirname, 'fixtures', 'remotes');

/** A throw-away install prefix laid out like `$ONE_LOCATION`: `var/remotes/…`, `vms/`. */
export interface Prefix {
  dir: string;
  remotesDir: string;
  vmsDir: string;
  callsLog: string;
  env: NodeJS.ProcessEnv;
  /** The calls recorded by the dummy scripts: `[action, ...argv, 'stdin=<b64>']` each. */
  calls(): string[][];
  /** Lines of `<callsLog>.events` written by the `sleep` script. */
  events(): string[];
  remove(): void;
}

export function makePrefix(): Prefix {
  const dir = mkdtempSync(join(tmpdir(), 'one-harness-'));
  const remotesDir = join(dir, 'var', 'remotes');
  cpSync(FIXTURE_REMOTES, remotesDir, { recursive: true, verbatimSymlinks: true });
  const callsLog = join(dir, 'calls.log');
  const readLines = (path: string) =>
    existsSync(path)
      ? readFileSync(path, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
      : [];
  return {
    dir,
    remotesDir,
    vmsDir: join(dir, 'vms'),
    callsLog,
    env: { ...process.env, HARNESS_CALLS_LOG: callsLog },
    calls: () => readLines(callsLog).map((line) => line.split('\t')),
    events: () => readLines(`${callsLog}.events`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A fresh Prefix for each test of the calling describe block (made before it, removed after it);
 * call the returned function inside a test to get the current one.
 */
export function usePrefix(): () => Prefix {
  let prefix: Prefix | undefined;
  beforeEach(() => {
    prefix = makePrefix();
  });
  afterEach(() => prefix?.remove());
  return () => {
    if (prefix === undefined) throw new Error('usePrefix: the prefix exists only while a test runs');
    return prefix;
  };
}

/** Waits (polling every 20 ms, at most `limitMs`) until `check` is true. */
export async function waitUntil(check: () => boolean, limitMs = 10_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The most actions that were between `start` and `end` at once, from `start x` / `end x` lines. */
export function maxInFlight(events: readonly string[]): number {
  let current = 0;
  let max = 0;
  for (const event of events) {
    current += event.startsWith('start ') ? 1 : -1;
    max = Math.max(max, current);
  }
  return max;
}

/** A stream to hand out as `output`/`diagnostics`, and what has been written to it so far. */
export function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let written = '';
  stream.on('data', (chunk: Buffer) => {
    written += chunk.toString();
  });
  return { stream, text: () => written };
}
