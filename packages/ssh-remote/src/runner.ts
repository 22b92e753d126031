import type { Readable, Writable } from 'node:stream';

/** A command as an argument vector. Never a shell string. */
export type Argv = readonly string[];

export interface RunOptions {
  /** Data for the command's stdin. Without it stdin is closed at once (empty). */
  stdin?: string | Buffer | Readable;
  /**
   * Stream the command's stdout into this writable (with backpressure) instead of buffering it;
   * `RunResult.stdout` is then empty and `RunResult.stdoutBytes` counts what was written.
   */
  stdout?: Writable;
  /** Kill the command after this many milliseconds (on a remote host, the remote process too). */
  timeoutMs?: number;
  /** Abort the command; the promise rejects with a `RemoteError` of code `ABORTED`. */
  signal?: AbortSignal;
  /**
   * `true` (default): a non-zero exit or a signal rejects with a `RemoteError` of code `EXIT`.
   * `false`: every completed command resolves; the caller inspects `exitCode`.
   */
  reject?: boolean;
}

export interface RunResult {
  /** Where it ran: `local` or the SSH host alias the runner was made for. */
  host: string;
  /** The argv as run, including the runner's prefix. */
  argv: readonly string[];
  /** Exit code, or `null` when the command was ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the command (`SIGKILL` …), else `null`. */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Bytes of stdout received (also when streamed to `RunOptions.stdout`). */
  stdoutBytes: number;
  durationMs: number;
}

/**
 * Runs argv commands somewhere: on this machine (`LocalRunner`), on a host over SSH (`SshRunner`)
 * or nowhere (`FakeRunner` from `./testing`). Every command runs with `LC_ALL=C`.
 */
export interface Runner {
  /** `local` or the host alias. */
  readonly host: string;
  run(argv: Argv, options?: RunOptions): Promise<RunResult>;
  /** Release connections. Further `run` calls reconnect. */
  close(): Promise<void>;
}
