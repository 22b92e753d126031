import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { describeCommand, exitError, RemoteError } from './errors.js';
import type { Argv, Runner, RunOptions, RunResult } from './runner.js';

export interface LocalRunnerOptions {
  /** Runs before every argv, e.g. `['sudo', '-n']`. */
  prefix?: string[];
  /** Milliseconds between TERM and KILL when a command times out or is aborted; default 5000. */
  killAfterMs?: number;
}

/** Runs argv commands on this machine (execa, no shell), with the same contract as `SshRunner`. */
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
    const [file, ...args] = fullArgv;
    if (argv.length === 0 || file === undefined) {
      throw new RemoteError('INVALID_ARGUMENT', 'local: empty argv: nothing to run', { host: this.host });
    }
    if (fullArgv.some((a) => typeof a !== 'string' || a.includes('\0'))) {
      throw new RemoteError(
        'INVALID_ARGUMENT',
        `${describeCommand(this.host, fullArgv)}: argument contains a NUL byte`,
        {
          host: this.host,
          argv: fullArgv,
        },
      );
    }
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RemoteError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${timeoutMs}`, {
        host: this.host,
        argv: fullArgv,
      });
    }
    if (signal?.aborted) {
      throw new RemoteError('ABORTED', `${describeCommand(this.host, fullArgv)} was aborted`, {
        host: this.host,
        argv: fullArgv,
      });
    }

    const streaming = options.stdout !== undefined;
    const subprocess = execa(file, args, {
      env: { LC_ALL: 'C' },
      input: options.stdin ?? '',
      reject: false,
      stripFinalNewline: false,
      buffer: { stdout: !streaming, stderr: true },
      maxBuffer: Number.MAX_SAFE_INTEGER,
      forceKillAfterDelay: this.killAfterMs,
      ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
      ...(signal === undefined ? {} : { cancelSignal: signal }),
    });
    let stdoutBytes = 0;
    let streamError: unknown;
    const streamed = streaming
      ? pipeline(
          subprocess.stdout,
          new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              stdoutBytes += chunk.length;
              callback(null, chunk);
            },
          }),
          options.stdout as Writable,
        ).catch((err: unknown) => {
          streamError = err;
          subprocess.kill();
        })
      : Promise.resolve();
    const [result] = await Promise.all([subprocess, streamed]);
    const stderr = String(result.stderr ?? '');
    const details = { host: this.host, argv: fullArgv, stderr };
    if (result.timedOut) {
      throw new RemoteError(
        'TIMEOUT',
        `${describeCommand(this.host, fullArgv)} timed out after ${timeoutMs} ms`,
        {
          ...details,
          timedOut: true,
        },
      );
    }
    if (result.isCanceled) {
      throw new RemoteError('ABORTED', `${describeCommand(this.host, fullArgv)} was aborted`, {
        ...details,
        cause: signal?.reason,
      });
    }
    if (streamError !== undefined) {
      throw new RemoteError(
        'STREAM_FAILED',
        `${describeCommand(this.host, fullArgv)}: writing stdout failed: ${(streamError as Error).message}`,
        { ...details, cause: streamError },
      );
    }
    if (result.exitCode === undefined && result.signal === undefined) {
      // Not spawned at all: ENOENT (no such program), EACCES …
      throw new RemoteError(
        'SPAWN_FAILED',
        `${describeCommand(this.host, fullArgv)}: cannot run ${file}: ${result.code ?? result.shortMessage}`,
        { ...details, cause: result.cause },
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
