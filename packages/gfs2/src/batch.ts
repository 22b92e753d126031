import {
  quoteForShell,
  RemoteError,
  type Runner,
  type RunOptions,
  type RunResult,
} from '@one-gfs2clvm/ssh-remote';

/**
 * Several host commands in ONE remote command (one `sh -c '<fixed script>' sh <args>`), for the
 * check-then-write sequences of this package: on an emulated or busy host every remote command
 * costs a process start and a round trip, and a VM directory needs six of them.
 *
 * A batch is data: named steps with argv built by the same pure builders as the single commands,
 * the caller's values only as positional parameters (`$1`, `$2` …, never part of the script), and
 * conditions on earlier steps. The script is generated from it; the outcome comes back as a
 * `Runner` that answers each step's argv with that step's own exit code, stdout and stderr, so the
 * decisions stay in the code that already makes them from single commands.
 */
export interface BatchStep {
  name: string;
  /** argv; an element `$1`…`$9` stands for that positional parameter. */
  argv: readonly string[];
  /** Runs only when this holds for an earlier step (that ran). */
  when?: { step: string; ok: boolean } | { step: string; stdout: string };
}

/** Frames each step's output: `\x1eB <name>` before it (both streams), `\x1eE <exit>` after (stdout). */
const RUN =
  'run() { n=$1; shift; printf \'\\036B %s\\n\' "$n" >&2; o=$("$@"); r=$?; ' +
  'printf \'\\036B %s\\n\' "$n"; [ -z "$o" ] || printf \'%s\\n\' "$o"; printf \'\\036E %s\\n\' "$r"; return 0; }';

/** The record separator that frames the steps' output (it does not occur in what they print). */
const RS = '\x1e';
const NAME = /^[a-z]+$/;
const PARAM = /^\$[1-9]$/;

/** The fixed script of a batch (pure: depends on the steps only, never on the caller's values). */
export function batchScript(steps: readonly BatchStep[]): string {
  const lines = [RUN];
  for (const step of steps) {
    if (!NAME.test(step.name)) throw new Error(`batch step name ${JSON.stringify(step.name)}`);
    const words = step.argv.map((word) => (PARAM.test(word) ? `"${word}"` : quoteForShell(word)));
    const run = `run ${step.name} ${words.join(' ')}; r_${step.name}=$r o_${step.name}=$o`;
    const when = step.when;
    if (!when) lines.push(run);
    else if ('ok' in when)
      lines.push(
        `if [ "\${r_${when.step}-x}" ${when.ok ? '=' : '!='} 0 ] && [ -n "\${r_${when.step}-}" ]; then ${run}; fi`,
      );
    else lines.push(`if [ "\${o_${when.step}-}" = ${quoteForShell(when.stdout)} ]; then ${run}; fi`);
  }
  return lines.join('\n');
}

/** Each step's result from the batch's stdout and stderr (steps that did not run are absent). */
export function parseBatchOutput(
  stdout: string,
  stderr: string,
): Map<string, { exitCode: number; stdout: string; stderr: string }> {
  const results = new Map<string, { exitCode: number; stdout: string; stderr: string }>();
  for (const m of stdout.matchAll(new RegExp(`${RS}B ([a-z]+)\n([\\s\\S]*?)${RS}E (\\d+)\n`, 'g')))
    results.set(m[1] as string, { exitCode: Number(m[3]), stdout: m[2] as string, stderr: '' });
  const parts = stderr.split(new RegExp(`${RS}B ([a-z]+)\n`));
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const result = results.get(parts[i] as string);
    if (result) result.stderr = parts[i + 1] as string;
  }
  return results;
}

/** `$1`… in a step's argv replaced by the caller's values: the argv the step really ran. */
function concreteArgv(step: BatchStep, args: readonly string[]): string[] {
  return step.argv.map((word) => (PARAM.test(word) ? (args[Number(word.slice(1)) - 1] as string) : word));
}

/**
 * Runs the batch as one remote command and returns a `Runner` replaying its steps: `run(argv)`
 * answers the step that ran exactly that argv. A failure of the batch itself (connection, timeout,
 * abort) is what every replayed step rejects with; an argv the batch did not run rejects too.
 */
export async function runBatch(
  runner: Runner,
  steps: readonly BatchStep[],
  args: readonly string[],
  options: Omit<RunOptions, 'reject'> = {},
): Promise<Runner> {
  let failure: unknown;
  const results = new Map<string, RunResult>();
  try {
    const batch = await runner.run(['sh', '-c', batchScript(steps), 'sh', ...args], {
      ...options,
      reject: false,
    });
    const parsed = parseBatchOutput(batch.stdout, batch.stderr);
    for (const step of steps) {
      const result = parsed.get(step.name);
      if (!result) continue;
      const argv = concreteArgv(step, args);
      results.set(JSON.stringify(argv), {
        ...batch,
        argv,
        exitCode: result.exitCode,
        signal: null,
        stdout: result.stdout,
        stderr: result.stderr,
        stdoutBytes: Buffer.byteLength(result.stdout),
      });
    }
    if (results.size === 0 && batch.exitCode !== 0)
      failure = new RemoteError(
        'EXIT',
        `${runner.host}: batch failed (exit ${batch.exitCode}): ${batch.stderr.trim()}`,
        {
          host: runner.host,
        },
      );
  } catch (error) {
    failure = error;
  }
  return {
    host: runner.host,
    close: async () => undefined,
    run: async (argv) => {
      if (failure) throw failure;
      const result = results.get(JSON.stringify(argv));
      if (!result)
        throw new RemoteError('INVALID_ARGUMENT', `${runner.host}: ${argv[0]} was not run in the batch`, {
          host: runner.host,
        });
      return result;
    },
  };
}

/**
 * What the script of `steps` does, in JavaScript, with each step answered by `run`: for test
 * doubles (a `FakeRunner` answering a batch from its single-command answers).
 */
export async function emulateBatch(
  steps: readonly BatchStep[],
  args: readonly string[],
  run: (argv: string[]) => Promise<{ exitCode: number | null; stdout: string; stderr: string }>,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const done = new Map<string, { exitCode: number; stdout: string }>();
  let stdout = '';
  let stderr = '';
  for (const step of steps) {
    const when = step.when;
    const before = when ? done.get(when.step) : undefined;
    if (when && !before) continue;
    if (when && before && 'ok' in when && (before.exitCode === 0) !== when.ok) continue;
    if (when && before && 'stdout' in when && before.stdout.replace(/\n+$/, '') !== when.stdout) continue;
    const result = await run(concreteArgv(step, args));
    const out = result.stdout.replace(/\n+$/, '');
    const exitCode = result.exitCode ?? 1;
    done.set(step.name, { exitCode, stdout: out });
    stdout += `\x1eB ${step.name}\n${out ? `${out}\n` : ''}\x1eE ${exitCode}\n`;
    stderr += `\x1eB ${step.name}\n${result.stderr}`;
  }
  return { exitCode: 0, stdout, stderr };
}
