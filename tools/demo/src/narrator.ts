import type { RunResult } from '@one-gfs2clvm/ssh-remote';
import type { Cluster } from '@one-gfs2clvm/testbed';
import { DemoError } from './errors.js';

/** Where the demo's lines go, each prefixed with the time since the start. */
export interface Narrator {
  /** A line with the clock. */
  say(line: string): void;
  /** Lines under the last one, indented, without the clock (blank lines dropped). */
  detail(text: string, mark?: string): void;
  /** Seconds since the start. */
  elapsed(): number;
}

const INDENT = ' '.repeat(11);

export function createNarrator(
  write: (line: string) => void = console.log,
  start = performance.now(),
): Narrator {
  const elapsed = () => (performance.now() - start) / 1000;
  return {
    say: (line) => write(`[${elapsed().toFixed(1).padStart(6)} s] ${line}`),
    detail: (text, mark = '') => {
      for (const line of text.trimEnd().split('\n')) {
        if (line.trim() !== '') write(`${INDENT}${mark}${line}`);
      }
    },
    elapsed,
  };
}

export type HostUser = 'root' | 'oneadmin';

/**
 * Runs an argv on a testbed host and narrates it like a terminal: prompt, command, exit code, time,
 * then its output. Returns the result (never throws for a non-zero exit: `expectExit` judges).
 */
export async function hostStep(
  n: Narrator,
  cluster: Cluster,
  host: string,
  argv: string[],
  user: HostUser = 'root',
  options: { stdin?: string | Buffer; shown?: string; quiet?: boolean } = {},
): Promise<RunResult> {
  const t0 = performance.now();
  const result = await cluster
    .host(host)
    .runner(user)
    .run(argv, { reject: false, timeoutMs: 300_000, ...(options.stdin ? { stdin: options.stdin } : {}) });
  const ms = Math.round(performance.now() - t0);
  const prompt = user === 'root' ? '#' : '$';
  n.say(`${user}@${host}${prompt} ${options.shown ?? argv.join(' ')}   (exit ${result.exitCode}, ${ms} ms)`);
  if (!options.quiet) n.detail(`${result.stdout}${result.stderr}`);
  return result;
}

/** Stops the demo with one line when a host command did not end as the story says it must. */
export function expectExit(result: RunResult, code: number, what: string): void {
  if (result.exitCode !== code) {
    const why = result.stderr.trim().split('\n').at(-1) ?? '';
    throw new DemoError(`${what}: expected exit ${code}, got ${result.exitCode}${why ? ` (${why})` : ''}`);
  }
}
