import { Readable } from 'node:stream';
import { describeCommand, exitError, RemoteError, type RemoteErrorCode } from './errors.js';
import type { Argv, Runner, RunOptions, RunResult } from './runner.js';

/** What a faked command does. Every field is optional: the default is exit 0 with no output. */
export interface FakeResponse {
  stdout?: string | Buffer;
  stderr?: string;
  exitCode?: number;
  /** Ends the command "by a signal" (`SIGKILL` …) instead of an exit code. */
  signal?: string;
  /** Resolve only after this many milliseconds (abortable, and `timeoutMs` applies). */
  delayMs?: number;
}

/** A call as the fake saw it, for assertions. */
export interface FakeCall {
  /** The argv passed to `run` (without the runner's prefix). */
  argv: string[];
  /** stdin as bytes (streams are read to the end), or `undefined` when none was given. */
  stdin: Buffer | undefined;
  options: RunOptions;
}

/** Matches an argv: exact strings, RegExps per element, or a predicate over the whole argv. */
export type ArgvMatcher = readonly (string | RegExp)[] | ((argv: readonly string[]) => boolean);
export type FakeHandler = (
  call: FakeCall,
) => FakeResponse | RemoteError | Promise<FakeResponse | RemoteError>;

interface Expectation {
  matcher: ArgvMatcher;
  respond: FakeResponse | RemoteError | FakeHandler;
  /** Uses left; `Infinity` by default. */
  remaining: number;
}

/** Thrown (as a rejection) for an argv no expectation covers: a test bug, so a plain `Error`. */
export class UnexpectedCommandError extends Error {
  override readonly name = 'UnexpectedCommandError';
}

/**
 * A `Runner` that runs nothing: it answers registered expectations, records every call and
 * rejects any argv it was not told about.
 *
 * ```ts
 * const fake = new FakeRunner({ host: 'node1' });
 * fake.on(['lvs', /^--/, 'vg1'], { stdout: '{"report":[]}' });
 * fake.on(['lvremove', '-y', 'vg1/lv1'], { exitCode: 5, stderr: 'in use' }, { times: 1 });
 * fake.failNext(1, 'CONNECTION_LOST');
 * ```
 * Expectations are tried in the order they were registered; the first match with uses left answers.
 */
export class FakeRunner implements Runner {
  readonly host: string;
  readonly calls: FakeCall[] = [];
  private readonly prefix: readonly string[];
  private readonly expectations: Expectation[] = [];
  private failures: { count: number; code: RemoteErrorCode } = { count: 0, code: 'CONNECTION_LOST' };
  private closed = 0;

  constructor(options: { host?: string; prefix?: string[] } = {}) {
    this.host = options.host ?? 'fake';
    this.prefix = [...(options.prefix ?? [])];
  }

  /** Answers argv matching `matcher` with `respond` (a response, an error to reject with, or a handler). */
  on(
    matcher: ArgvMatcher,
    respond: FakeResponse | RemoteError | FakeHandler = {},
    options: { times?: number } = {},
  ): this {
    this.expectations.push({ matcher, respond, remaining: options.times ?? Number.POSITIVE_INFINITY });
    return this;
  }

  /** The next `count` calls reject with a `RemoteError` of `code` (default `CONNECTION_LOST`), whatever their argv. */
  failNext(count = 1, code: RemoteErrorCode = 'CONNECTION_LOST'): this {
    this.failures = { count, code };
    return this;
  }

  /** argv of every call, in order. */
  get argvs(): string[][] {
    return this.calls.map((c) => c.argv);
  }

  /** How often `close()` was called. */
  get closeCount(): number {
    return this.closed;
  }

  /** Throws if an expectation registered with `times` was not used up. */
  assertDone(): void {
    const left = this.expectations.filter((e) => Number.isFinite(e.remaining) && e.remaining > 0);
    if (left.length > 0) {
      throw new Error(
        `FakeRunner ${this.host}: expected commands not run: ${left.map((e) => describeMatcher(e.matcher)).join('; ')}`,
      );
    }
  }

  async run(argv: Argv, options: RunOptions = {}): Promise<RunResult> {
    const started = performance.now();
    const fullArgv = [...this.prefix, ...argv];
    const call: FakeCall = { argv: [...argv], stdin: await readStdin(options.stdin), options };
    this.calls.push(call);
    if (argv.length === 0)
      throw new RemoteError('INVALID_ARGUMENT', `${this.host}: empty argv: nothing to run`);
    if (argv.some((a) => a.includes('\0'))) {
      throw new RemoteError(
        'INVALID_ARGUMENT',
        `${describeCommand(this.host, fullArgv)}: argument contains a NUL byte`,
      );
    }
    if (this.failures.count > 0) {
      this.failures.count--;
      throw new RemoteError(
        this.failures.code,
        `${describeCommand(this.host, fullArgv)}: injected ${this.failures.code}`,
        {
          host: this.host,
          argv: fullArgv,
        },
      );
    }
    const expectation = this.expectations.find((e) => e.remaining > 0 && matches(e.matcher, argv));
    if (!expectation) {
      const known = this.expectations.map(
        (e) => `  ${describeMatcher(e.matcher)}${e.remaining > 0 ? '' : ' (used up)'}`,
      );
      throw new UnexpectedCommandError(
        `FakeRunner ${this.host}: unexpected command ${JSON.stringify(argv)}\nexpected one of:\n${known.join('\n') || '  (none registered)'}`,
      );
    }
    expectation.remaining--;
    const answer =
      typeof expectation.respond === 'function' ? await expectation.respond(call) : expectation.respond;
    if (RemoteError.isInstance(answer)) throw answer;
    await delay(answer.delayMs ?? 0, options, this.host, fullArgv);

    const stdout = Buffer.isBuffer(answer.stdout) ? answer.stdout : Buffer.from(answer.stdout ?? '');
    if (options.stdout) {
      await new Promise<void>((resolve, reject) => {
        options.stdout?.once('error', reject);
        options.stdout?.end(stdout, () => resolve());
      });
    }
    const result: RunResult = {
      host: this.host,
      argv: fullArgv,
      exitCode: answer.signal ? null : (answer.exitCode ?? 0),
      signal: answer.signal ?? null,
      stdout: options.stdout ? '' : stdout.toString('utf8'),
      stderr: answer.stderr ?? '',
      stdoutBytes: stdout.length,
      durationMs: performance.now() - started,
    };
    if (options.reject !== false && (result.exitCode !== 0 || result.signal !== null)) {
      throw exitError(this.host, fullArgv, result.exitCode, result.signal, result.stderr);
    }
    return result;
  }

  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

function matches(matcher: ArgvMatcher, argv: readonly string[]): boolean {
  if (typeof matcher === 'function') return matcher(argv);
  return (
    matcher.length === argv.length &&
    matcher.every((m, i) => {
      const arg = argv[i] as string;
      return typeof m === 'string' ? m === arg : m.test(arg);
    })
  );
}

function describeMatcher(matcher: ArgvMatcher): string {
  if (typeof matcher === 'function') return `<predicate ${matcher.name || 'anonymous'}>`;
  return `[${matcher.map((m) => (typeof m === 'string' ? JSON.stringify(m) : String(m))).join(', ')}]`;
}

async function readStdin(stdin: RunOptions['stdin']): Promise<Buffer | undefined> {
  if (stdin === undefined) return undefined;
  if (typeof stdin === 'string') return Buffer.from(stdin);
  if (Buffer.isBuffer(stdin)) return stdin;
  const chunks: Buffer[] = [];
  for await (const chunk of stdin instanceof Readable ? stdin : Readable.from(stdin)) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function delay(ms: number, options: RunOptions, host: string, argv: string[]): Promise<void> {
  const limit = options.timeoutMs;
  if (ms <= 0 && !options.signal?.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = (err?: RemoteError) => {
      clearTimeout(timer);
      clearTimeout(timeout);
      options.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () =>
      finish(new RemoteError('ABORTED', `${describeCommand(host, argv)} was aborted`, { host, argv }));
    const timer = setTimeout(() => finish(), ms);
    const timeout =
      limit !== undefined && limit < ms
        ? setTimeout(
            () =>
              finish(
                new RemoteError('TIMEOUT', `${describeCommand(host, argv)} timed out after ${limit} ms`, {
                  host,
                  argv,
                }),
              ),
            limit,
          )
        : undefined;
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
