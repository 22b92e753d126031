import { performance } from 'node:perf_hooks';
import { type Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientChannel } from 'ssh2';
import { describeCommand, exitError, RemoteError } from './errors.js';
import { buildRemoteCommand } from './quote.js';
import { buildKillCommand, PidLineFilter } from './remote-pid.js';
import type { Argv, Runner, RunOptions, RunResult } from './runner.js';
import { resolveTarget } from './ssh-config.js';
import { type HostKeyPolicy, type RemoteCommand, SshConnection } from './ssh-connection.js';

export type { HostKeyPolicy } from './ssh-connection.js';

export interface SshRunnerOptions {
  /** The host's alias: used in messages and looked up in `~/.ssh/config`. */
  host: string;
  /** Address to connect to; default: the config's `HostName`, else `host`. */
  hostname?: string;
  /** Default: the config's `Port`, else 22. */
  port?: number;
  /** Default: the config's `User`, else the local user. */
  user?: string;
  /** Private keys to try; default: the config's `IdentityFile`s, else `~/.ssh/id_{ed25519,ecdsa,rsa}`. */
  identityFiles?: string[];
  /** Default `~/.ssh/known_hosts` (and `/etc/ssh/ssh_known_hosts` for reading). */
  knownHostsFile?: string;
  /** Default `strict`. `insecure` accepts any key and logs a warning on each connect. */
  hostKeyPolicy?: HostKeyPolicy;
  /** Default `~/.ssh/config`. */
  sshConfigFile?: string;
  /** Concurrent session channels; default 8, below OpenSSH's `MaxSessions 10`. */
  maxChannels?: number;
  /** Default 15000; after 3 unanswered keepalives the connection counts as dropped. */
  keepaliveIntervalMs?: number;
  /** TCP connect + SSH handshake limit; default 20000. */
  connectTimeoutMs?: number;
  /** Runs before every argv on the host, e.g. `['sudo', '-n']`. */
  prefix?: string[];
  /** Seconds between the host's TERM and KILL when a command times out or is aborted; default 5. */
  killAfterSeconds?: number;
  /** Where warnings go (insecure host keys, accept-new additions); default `console.warn`. */
  warn?: (message: string) => void;
}

const REMOTE_TIMEOUT_MARGIN_MS = 1000;
/** What coreutils `timeout` exits with when the time ran out. */
const TIMEOUT_EXIT_CODE = 124;

/** Lets `withPrefix` hand its connection to the new runner without putting it in the public types. */
const sharedConnections = new WeakMap<SshRunnerOptions, SshConnection>();

/**
 * Runs argv commands on one host over one reused SSH connection (ssh2), several at a time.
 * Each command runs as `export LC_ALL=C; exec setpriv --pdeathsig TERM timeout -k K S <prefix> <argv>` on
 * the host (see `buildRemoteCommand`), so timeouts, aborts and dropped connections kill it there too.
 */
export class SshRunner implements Runner {
  readonly host: string;
  private readonly connection: SshConnection;
  private readonly prefix: readonly string[];
  private readonly killAfterSeconds: number;
  private readonly warn: (message: string) => void;

  private readonly options: SshRunnerOptions;

  constructor(options: SshRunnerOptions) {
    if (!options.host) throw new RemoteError('INVALID_ARGUMENT', 'SshRunner needs a host');
    this.options = options;
    const maxChannels = options.maxChannels ?? 8;
    if (!Number.isInteger(maxChannels) || maxChannels < 1) {
      throw new RemoteError('INVALID_ARGUMENT', `maxChannels must be a positive integer, got ${maxChannels}`);
    }
    const policy = options.hostKeyPolicy ?? 'strict';
    if (!['strict', 'accept-new', 'insecure'].includes(policy)) {
      throw new RemoteError('INVALID_ARGUMENT', `unknown hostKeyPolicy ${JSON.stringify(policy)}`);
    }
    this.host = options.host;
    this.prefix = [...(options.prefix ?? [])];
    this.killAfterSeconds = options.killAfterSeconds ?? 5;
    if (!(Number.isFinite(this.killAfterSeconds) && this.killAfterSeconds > 0)) {
      throw new RemoteError(
        'INVALID_ARGUMENT',
        `killAfterSeconds must be a positive number, got ${this.killAfterSeconds}`,
      );
    }
    this.warn = options.warn ?? ((message) => console.warn(message));
    const shared = sharedConnections.get(options);
    if (shared) {
      this.connection = shared;
      return;
    }
    const target = resolveTarget(options);
    this.connection = new SshConnection(target, {
      ...(options.knownHostsFile === undefined ? {} : { knownHostsFile: options.knownHostsFile }),
      hostKeyPolicy: policy,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 15_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
      maxChannels,
      warn: this.warn,
    });
  }

  async run(argv: Argv, options: RunOptions = {}): Promise<RunResult> {
    const fullArgv = [...this.prefix, ...argv];
    const timeoutMs = options.timeoutMs;
    this.checkRequest(argv, fullArgv, timeoutMs);
    const command = buildRemoteCommand(argv, {
      prefix: this.prefix,
      // The host's own limit is a backstop for when this process or its connection is gone; it
      // comes a little later so that normally our timer decides (and reports TIMEOUT).
      timeoutSeconds: timeoutMs === undefined ? 0 : (timeoutMs + REMOTE_TIMEOUT_MARGIN_MS) / 1000,
      killAfterSeconds: this.killAfterSeconds,
    });
    const started = performance.now();
    const deadline = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
    const signals = [options.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
    const stop = signals.length > 0 ? AbortSignal.any(signals) : undefined;
    const errors = this.stopErrors(fullArgv, options, deadline);
    // A stdin stream may fail (missing file) while we still wait for a slot or the connection.
    const stdinStream = isReadable(options.stdin) ? options.stdin : undefined;
    const stdinState: StdinState = { error: null, started: false };
    stdinStream?.on('error', (err: Error) => {
      stdinState.error ??= err;
    });
    const dropStdin = () => {
      if (!stdinState.started) stdinStream?.destroy();
    };
    if (stop?.aborted) {
      dropStdin();
      throw errors.stopped();
    }

    let release: () => void;
    try {
      release = await this.connection.acquireSlot(stop);
    } catch {
      dropStdin();
      throw errors.stopped();
    }
    try {
      const remote = await this.connection.exec(command);
      stdinState.started = true;
      const outcome = await this.drive(remote, options, stop, fullArgv, stdinState);
      if (outcome.kind === 'stopped') throw errors.stopped(outcome.stderr);
      // Our timer was late (a busy event loop) and the host's `timeout` ended the command: exit 124.
      if (
        deadline &&
        outcome.exitCode === TIMEOUT_EXIT_CODE &&
        performance.now() - started >= (timeoutMs ?? 0)
      ) {
        throw errors.timeout(outcome.stderr);
      }
      return this.resultOf(fullArgv, outcome, started, options);
    } catch (err) {
      throw this.withArgv(err, fullArgv);
    } finally {
      dropStdin();
      release();
    }
  }

  /** Refuses what cannot be run: an empty argv, a bad time limit. */
  private checkRequest(argv: Argv, fullArgv: string[], timeoutMs: number | undefined): void {
    if (argv.length === 0) {
      throw new RemoteError('INVALID_ARGUMENT', `${this.host}: empty argv: nothing to run`, {
        host: this.host,
      });
    }
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RemoteError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${timeoutMs}`, {
        host: this.host,
        argv: fullArgv,
      });
    }
  }

  /** The errors of a command stopped by its time limit (TIMEOUT) or by the caller's signal (ABORTED). */
  private stopErrors(fullArgv: string[], options: RunOptions, deadline: AbortSignal | undefined) {
    const described = describeCommand(this.host, fullArgv);
    const timeout = (stderr = '') =>
      new RemoteError('TIMEOUT', `${described} timed out after ${options.timeoutMs} ms`, {
        host: this.host,
        argv: fullArgv,
        timedOut: true,
        stderr,
      });
    const stopped = (stderr = '') =>
      deadline?.aborted
        ? timeout(stderr)
        : new RemoteError('ABORTED', `${described} was aborted`, {
            host: this.host,
            argv: fullArgv,
            cause: options.signal?.reason,
            stderr,
          });
    return { timeout, stopped };
  }

  /** A completed command as a `RunResult`; with `reject` (the default), a failed one as an EXIT error. */
  private resultOf(
    fullArgv: string[],
    outcome: Extract<Outcome, { kind: 'done' }>,
    started: number,
    options: RunOptions,
  ): RunResult {
    const result: RunResult = {
      host: this.host,
      argv: fullArgv,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      stdoutBytes: outcome.stdoutBytes,
      durationMs: performance.now() - started,
    };
    if (options.reject !== false && (result.exitCode !== 0 || result.signal !== null)) {
      throw exitError(this.host, fullArgv, result.exitCode, result.signal, result.stderr);
    }
    return result;
  }

  /** Connection errors are shared by every waiting command; gives each its own argv. */
  private withArgv(err: unknown, fullArgv: string[]): unknown {
    if (RemoteError.isInstance(err) && err.argv.length === 0) {
      return new RemoteError(err.code, err.message, {
        host: this.host,
        argv: fullArgv,
        cause: err.cause ?? err,
      });
    }
    return err;
  }

  /**
   * A runner for the same host over the same connection (and channel limit) whose commands run
   * behind `prefix`, e.g. `root.withPrefix(['sudo', '-n'])`. `close()` on either closes the connection.
   */
  withPrefix(prefix: string[]): SshRunner {
    const options = { ...this.options, prefix };
    sharedConnections.set(options, this.connection);
    return new SshRunner(options);
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /**
   * Ends a remote command by PID over a second channel. It does not take a slot, so it cannot wait
   * behind the commands it is meant to stop (`exec` retries while sshd is at `MaxSessions`).
   */
  private async killRemote(pid: number): Promise<void> {
    try {
      const { channel } = await this.connection.exec(buildKillCommand(pid), { reconnect: false });
      await new Promise<void>((resolve) => {
        channel.on('close', () => resolve());
        channel.resume();
        channel.stderr.resume();
        channel.end();
      });
    } catch (err) {
      // Without a connection the parent-death signal ends the command on the host; otherwise say so.
      if (this.connection.connected) {
        this.warn(
          `ssh-remote: could not end process ${pid} on ${this.host}: ${(err as Error).message}; it may still run`,
        );
      }
    }
  }

  /** Feeds stdin, collects or streams stdout, collects stderr, and waits for the channel to close. */
  private drive(
    remote: RemoteCommand,
    options: RunOptions,
    stop: AbortSignal | undefined,
    argv: readonly string[],
    stdinState: StdinState,
  ): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const job: DriveJob = {
        remote,
        argv,
        host: this.host,
        killAfterSeconds: this.killAfterSeconds,
        stop,
        killRemote: (pid) => void this.killRemote(pid),
      };
      new ChannelDrive(job, resolve, reject).start(options, stdinState);
    });
  }
}

/** What `ChannelDrive` needs of the runner for one command. */
interface DriveJob {
  remote: RemoteCommand;
  argv: readonly string[];
  host: string;
  killAfterSeconds: number;
  stop: AbortSignal | undefined;
  /** Ends the command on the host by PID over a second channel. */
  killRemote: (pid: number) => void;
}

/**
 * One command's channel from start to close: stdin fed, stdout collected or streamed, stderr
 * collected (its PID line taken out), ended on the host when stopped or when a stream fails, and
 * given up on when the host does not answer.
 */
class ChannelDrive {
  private stopped = false;
  private failure: RemoteError | null = null;
  private stdoutBytes = 0;
  private readonly stdoutChunks: Buffer[] = [];
  private readonly stderrChunks: Buffer[] = [];
  private hardStop: NodeJS.Timeout | undefined;
  private giveUp: NodeJS.Timeout | undefined;
  private settled = false;
  private killing = false;
  private readonly pidFilter = new PidLineFilter();

  constructor(
    private readonly job: DriveJob,
    private readonly resolve: (outcome: Outcome) => void,
    private readonly reject: (error: RemoteError) => void,
  ) {}

  start(options: RunOptions, stdinState: StdinState): void {
    const { channel } = this.job.remote;
    const { stop } = this.job;
    // Stopped while the connection was being opened: end the command as soon as it starts.
    if (stop?.aborted) this.onStop();
    else stop?.addEventListener('abort', this.onStop, { once: true });

    channel.on('error', (err: Error) => this.fail(`SSH channel error: ${err.message}`, err));
    channel.stderr.on('data', (chunk: Buffer) => this.onStderr(chunk));
    const stdoutDone = this.collectStdout(options.stdout);
    feedStdin(channel, options.stdin, stdinState, (err) =>
      this.fail(`reading stdin failed: ${err.message}`, err),
    );
    channel.on('close', () => void stdoutDone.then(() => this.settle()));
  }

  private readonly onStop = () => {
    this.stopped = true;
    this.endCommand();
  };

  private fail(message: string, cause: unknown): void {
    const { host, argv } = this.job;
    this.failure ??= new RemoteError('STREAM_FAILED', `${describeCommand(host, argv)}: ${message}`, {
      host,
      argv,
      cause,
    });
    this.endCommand();
  }

  private endCommand(): void {
    if (this.killing) return;
    this.killing = true;
    // `timeout` on the host passes TERM to the command's process group and KILLs it later.
    if (this.pidFilter.pid !== null) this.job.killRemote(this.pidFilter.pid);
    // If the host does not answer, give up on the channel after `timeout -k` had its chance.
    this.hardStop = setTimeout(
      () => {
        this.job.remote.channel.destroy();
        this.giveUp = setTimeout(() => this.settle(), 1000);
      },
      (this.job.killAfterSeconds + 2) * 1000,
    );
  }

  private onStderr(chunk: Buffer): void {
    const hadPid = this.pidFilter.pid !== null;
    this.stderrChunks.push(this.pidFilter.push(chunk));
    // Stopped before the PID arrived: kill as soon as it is known.
    if (!hadPid && this.pidFilter.pid !== null && this.killing && !this.job.remote.exit)
      this.job.killRemote(this.pidFilter.pid);
  }

  /** Streams stdout into `destination`, or collects it; resolves when the channel's stdout is done. */
  private collectStdout(destination: RunOptions['stdout']): Promise<void> {
    const { channel } = this.job.remote;
    if (!destination) {
      return new Promise<void>((done) => {
        channel.on('data', (chunk: Buffer) => {
          this.stdoutBytes += chunk.length;
          this.stdoutChunks.push(chunk);
        });
        channel.on('close', () => done());
      });
    }
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.stdoutBytes += chunk.length;
        callback(null, chunk);
      },
    });
    return pipeline(channel, counter, destination as Writable).catch((err: unknown) => {
      // Unpiped, the channel would never reach its end and so never emit `close`: drain it.
      channel.resume();
      // A cut connection ends the channel normally (then CONNECTION_LOST, no exit status), so
      // a rejection here means the destination failed: end the command.
      if (!this.stopped) this.fail(`writing stdout failed: ${(err as Error).message}`, err);
    });
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.stderrChunks.push(this.pidFilter.flush());
    clearTimeout(this.hardStop);
    clearTimeout(this.giveUp);
    const { remote, host, argv, stop } = this.job;
    stop?.removeEventListener('abort', this.onStop);
    const stderr = Buffer.concat(this.stderrChunks).toString('utf8');
    if (this.failure) {
      this.reject(this.failure);
    } else if (this.stopped) {
      this.resolve({ kind: 'stopped', stderr });
    } else if (!remote.exit) {
      this.reject(
        new RemoteError(
          'CONNECTION_LOST',
          `${describeCommand(host, argv)}: the SSH connection was lost while the command ran; ` +
            'it may or may not have completed on the host',
          { host, argv, stderr },
        ),
      );
    } else {
      this.resolve({
        kind: 'done',
        exitCode: remote.exit.code,
        signal: remote.exit.signal,
        stdout: Buffer.concat(this.stdoutChunks).toString('utf8'),
        stderr,
        stdoutBytes: this.stdoutBytes,
      });
    }
  }
}

type Outcome =
  | { kind: 'stopped'; stderr: string }
  | {
      kind: 'done';
      exitCode: number | null;
      signal: string | null;
      stdout: string;
      stderr: string;
      stdoutBytes: number;
    };

interface StdinState {
  /** The first error the stdin stream emitted, possibly before the command started. */
  error: Error | null;
  /** Once the channel is open the stream belongs to it; before that, a failed run destroys it. */
  started: boolean;
}

function isReadable(stdin: RunOptions['stdin']): stdin is Readable {
  return stdin !== undefined && typeof stdin !== 'string' && !Buffer.isBuffer(stdin);
}

function feedStdin(
  channel: ClientChannel,
  stdin: RunOptions['stdin'],
  state: StdinState,
  onError: (err: Error) => void,
): void {
  if (stdin === undefined) {
    channel.end();
    return;
  }
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
    channel.end(stdin);
    return;
  }
  if (state.error) {
    channel.end();
    onError(state.error);
    return;
  }
  stdin.on('error', onError);
  // `pipe` honours the channel's flow control (SSH window) and ends the channel (EOF) at the end.
  stdin.pipe(channel);
  // A command that exits without reading all of stdin is normal (`head`, `true`): stop reading then.
  channel.on('close', () => stdin.unpipe(channel));
}
