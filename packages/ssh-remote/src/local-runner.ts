import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeCommand, exitError, RemoteError } from './errors.js';
import type { Argv, Runner, RunOptions, RunResult } from './runner.js';

export interface LocalRunnerOptions {
  /** Runs before every argv, e.g. `['sudo', '-n']`. */
  prefix?: string[];
  /** Milliseconds between TERM and KILL when a command times out or is aborted; default 5000. */
  killAfterMs?: number;
}

/**
 * Runs argv commands on this machine (execa, no shell), with the same contract as `SshRunner`.
 * Each command gets its own process group, so a timeout or abort ends its children too.
 */
export class LocalRunner implements Runner {
  readonly host = 'local';
  private readonly prefix: readonly string[];
  private readonly killAfterMs: number;

  constructor(options: LocalRunnerOptions = {}) {
    this.prefix = [...(options.prefix ?? [])];
    this.killAfterMs = options.killAfterMs ?? 5000;
  }

  async run(argv: Argv, options: RunOptions = {}): Promise<RunResult> {
    const fullArgv = [...this.prefix, ...argv];
    this.checkRequest(argv, fullArgv, options.timeoutMs);
    const [file, ...args] = fullArgv as [string, ...string[]];
    const { timeoutMs, signal } = options;
    // Loaded when a command runs, not at start-up (a driver action may never run one locally).
    const { execa } = await import('execa');
    if (signal?.aborted) {
      throw new RemoteError('ABORTED', `${describeCommand(this.host, fullArgv)} was aborted`, {
        host: this.host,
        argv: fullArgv,
      });
    }

    const streaming = options.stdout !== undefined;
    const stdinStream = options.stdin instanceof Readable ? options.stdin : undefined;
    const subprocess = execa(file, args, {
      env: { LC_ALL: 'C' },
      ...(stdinStream ? {} : { input: options.stdin ?? '' }),
      reject: false,
      stripFinalNewline: false,
      buffer: { stdout: !streaming, stderr: true },
      maxBuffer: Number.MAX_SAFE_INTEGER,
      // Its own process group: the timeout below can end the command's children too.
      detached: true,
    });

    let stopped: 'TIMEOUT' | 'ABORTED' | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (subprocess.pid !== undefined) process.kill(-subprocess.pid, sig);
      } catch {
        // already gone
      }
    };
    const stop = (why: 'TIMEOUT' | 'ABORTED') => {
      if (stopped) return;
      stopped = why;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), this.killAfterMs);
    };
    const deadline = timeoutMs === undefined ? undefined : setTimeout(() => stop('TIMEOUT'), timeoutMs);
    const onAbort = () => stop('ABORTED');
    signal?.addEventListener('abort', onAbort, { once: true });

    let streamError: unknown;
    const onStreamError = (err: unknown) => {
      streamError ??= err;
      killGroup('SIGTERM');
    };
    let stdoutBytes = 0;
    const stdinDone = stdinStream
      ? pipeline(stdinStream, subprocess.stdin).catch((err: NodeJS.ErrnoException) => {
          // A command that exits without reading all of its stdin is normal (`head`, `true`).
          if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') onStreamError(err);
        })
      : Promise.resolve();
    const stdoutDone = streaming
      ? pipeline(
          subprocess.stdout,
          new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              stdoutBytes += chunk.length;
              callback(null, chunk);
            },
          }),
          options.stdout as Writable,
        ).catch(onStreamError)
      : Promise.resolve();
    const [result] = await Promise.all([subprocess, stdinDone, stdoutDone]).finally(() => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      // The command is gone; its group may still hold members that ignored TERM.
      if (stopped) killGroup('SIGKILL');
    });
    return this.resultOf(fullArgv, result, { stopped, streamError, streaming, stdoutBytes }, options);
  }

  /** Refuses what cannot be run: an empty argv, a NUL byte in an argument, a bad time limit. */
  private checkRequest(argv: Argv, fullArgv: string[], timeoutMs: number | undefined): void {
    const fail = (message: string) =>
      new RemoteError('INVALID_ARGUMENT', message, { host: this.host, argv: fullArgv });
    if (argv.length === 0 || fullArgv[0] === undefined) throw fail('local: empty argv: nothing to run');
    if (fullArgv.some((a) => typeof a !== 'string' || a.includes('\0'))) {
      throw fail(`${describeCommand(this.host, fullArgv)}: argument contains a NUL byte`);
    }
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw fail(`timeoutMs must be a positive number, got ${timeoutMs}`);
    }
  }

  /** The ended command as a `RunResult`, or the `RemoteError` that says how it ended. */
  private resultOf(fullArgv: string[], result: Ended, how: HowItEnded, options: RunOptions): RunResult {
    const { stopped, streamError, streaming, stdoutBytes } = how;
    const stderr = String(result.stderr ?? '');
    const details = { host: this.host, argv: fullArgv, stderr };
    const described = describeCommand(this.host, fullArgv);
    if (stopped === 'TIMEOUT') {
      throw new RemoteError('TIMEOUT', `${described} timed out after ${options.timeoutMs} ms`, {
        ...details,
        timedOut: true,
      });
    }
    if (stopped === 'ABORTED') {
      throw new RemoteError('ABORTED', `${described} was aborted`, {
        ...details,
        cause: options.signal?.reason,
      });
    }
    if (streamError !== undefined) {
      throw new RemoteError('STREAM_FAILED', `${described}: ${(streamError as Error).message}`, {
        ...details,
        cause: streamError,
      });
    }
    if (result.exitCode === undefined && result.signal === undefined) {
      // Not spawned at all: ENOENT (no such program), EACCES …
      throw new RemoteError(
        'SPAWN_FAILED',
        `${described}: cannot run ${fullArgv[0]}: ${result.code ?? result.shortMessage}`,
        {
          ...details,
          cause: result.cause,
        },
      );
    }
    const stdout = streaming ? '' : String(result.stdout ?? '');
    const out: RunResult = {
      host: this.host,
      argv: fullArgv,
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      stdout,
      stderr,
      stdoutBytes: streaming ? stdoutBytes : Buffer.byteLength(stdout),
      durationMs: result.durationMs,
    };
    if (options.reject !== false && (out.exitCode !== 0 || out.signal !== null)) {
      throw exitError(this.host, fullArgv, out.exitCode, out.signal, stderr);
    }
    return out;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** What `resultOf` reads of execa's result. */
interface Ended {
  exitCode?: number | undefined;
  signal?: string | undefined;
  stdout?: unknown;
  stderr?: unknown;
  code?: string | undefined;
  shortMessage?: string | undefined;
  cause?: unknown;
  durationMs: number;
}

/** How the command was ended and how much it wrote, besides execa's result. */
interface HowItEnded {
  stopped: 'TIMEOUT' | 'ABORTED' | null;
  streamError: unknown;
  streaming: boolean;
  stdoutBytes: number;
}
