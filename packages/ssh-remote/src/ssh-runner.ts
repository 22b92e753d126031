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
    if (argv.length === 0) {
      throw new RemoteError('INVALID_ARGUMENT', `${this.host}: empty argv: nothing to run`, {
        host: this.host,
      });
    }
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RemoteError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${timeoutMs}`, {
        host: this.host,
        argv: fullArgv,
      });
    }
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
    const described = describeCommand(this.host, fullArgv);
    const timeoutError = (stderr = '') =>
      new RemoteError('TIMEOUT', `${described} timed out after ${timeoutMs} ms`, {
        host: this.host,
        argv: fullArgv,
        timedOut: true,
        stderr,
      });
    const stoppedError = (stderr = '') =>
      deadline?.aborted
        ? timeoutError(stderr)
        : new RemoteError('ABORTED', `${described} was aborted`, {
            host: this.host,
            argv: fullArgv,
            cause: options.signal?.reason,
            stderr,
          });
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
      throw stoppedError();
    }

    let release: () => void;
    try {
      release = await this.connection.acquireSlot(stop);
    } catch {
      dropStdin();
      throw stoppedError();
    }
    try {
      const remote = await this.connection.exec(command);
      stdinState.started = true;
      const outcome = await this.drive(remote, options, stop, fullArgv, stdinState);
      if (outcome.kind === 'stopped') throw stoppedError(outcome.stderr);
      // Our timer was late (a busy event loop) and the host's `timeout` ended the command: exit 124.
      if (
        deadline &&
        outcome.exitCode === TIMEOUT_EXIT_CODE &&
        performance.now() - started >= (timeoutMs ?? 0)
      ) {
        throw timeoutError(outcome.stderr);
      }
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
    } catch (err) {
      if (RemoteError.isInstance(err) && err.argv.length === 0) {
        // Connection errors are shared by every waiting command; give each its own argv.
        throw new RemoteError(err.code, err.message, {
          host: this.host,
          argv: fullArgv,
          cause: err.cause ?? err,
        });
      }
      throw err;
    } finally {
      dropStdin();
      release();
    }
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
    const { channel } = remote;
    return new Promise((resolve, reject) => {
      let stopped = false;
      let failure: RemoteError | null = null;
      let stdoutBytes = 0;
      const stdoutChunks: Buffer[] = [];
      const stderrChunks: Buffer[] = [];
      let hardStop: NodeJS.Timeout | undefined;
      let giveUp: NodeJS.Timeout | undefined;
      let settled = false;
      let killing = false;
      const pidFilter = new PidLineFilter();

      const fail = (message: string, cause: unknown) => {
        failure ??= new RemoteError('STREAM_FAILED', `${describeCommand(this.host, argv)}: ${message}`, {
          host: this.host,
          argv,
          cause,
        });
        killRemote();
      };
      const killRemote = () => {
        if (killing) return;
        killing = true;
        // `timeout` on the host passes TERM to the command's process group and KILLs it later.
        if (pidFilter.pid !== null) void this.killRemote(pidFilter.pid);
        // If the host does not answer, give up on the channel after `timeout -k` had its chance.
        hardStop = setTimeout(
          () => {
            channel.destroy();
            giveUp = setTimeout(() => settle(), 1000);
          },
          (this.killAfterSeconds + 2) * 1000,
        );
      };
      const onStop = () => {
        stopped = true;
        killRemote();
      };
      // Stopped while the connection was being opened: end the command as soon as it starts.
      if (stop?.aborted) onStop();
      else stop?.addEventListener('abort', onStop, { once: true });

      channel.on('error', (err: Error) => fail(`SSH channel error: ${err.message}`, err));
      channel.stderr.on('data', (chunk: Buffer) => {
        const hadPid = pidFilter.pid !== null;
        stderrChunks.push(pidFilter.push(chunk));
        // Stopped before the PID arrived: kill as soon as it is known.
        if (!hadPid && pidFilter.pid !== null && killing && !remote.exit) void this.killRemote(pidFilter.pid);
      });

      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          stdoutBytes += chunk.length;
          callback(null, chunk);
        },
      });
      const stdoutDone: Promise<void> = options.stdout
        ? pipeline(channel, counter, options.stdout as Writable).catch((err: unknown) => {
            // Unpiped, the channel would never reach its end and so never emit `close`: drain it.
            channel.resume();
            // A cut connection ends the channel normally (then CONNECTION_LOST, no exit status), so
            // a rejection here means the destination failed: end the command.
            if (!stopped) fail(`writing stdout failed: ${(err as Error).message}`, err);
          })
        : new Promise<void>((done) => {
            channel.on('data', (chunk: Buffer) => {
              stdoutBytes += chunk.length;
              stdoutChunks.push(chunk);
            });
            channel.on('close', () => done());
          });

      feedStdin(channel, options.stdin, stdinState, (err) =>
        fail(`reading stdin failed: ${err.message}`, err),
      );

      const settle = () => {
        if (settled) return;
        settled = true;
        stderrChunks.push(pidFilter.flush());
        clearTimeout(hardStop);
        clearTimeout(giveUp);
        stop?.removeEventListener('abort', onStop);
        if (failure) return reject(failure);
        if (stopped)
          return resolve({ kind: 'stopped', stderr: Buffer.concat(stderrChunks).toString('utf8') });
        if (!remote.exit) {
          return reject(
            new RemoteError(
              'CONNECTION_LOST',
              `${describeCommand(this.host, argv)}: the SSH connection was lost while the command ran; ` +
                'it may or may not have completed on the host',
              { host: this.host, argv, stderr: Buffer.concat(stderrChunks).toString('utf8') },
            ),
          );
        }
        resolve({
          kind: 'done',
          exitCode: remote.exit.code,
          signal: remote.exit.signal,
          stdout: Buffer.concat(stdoutChunks).toString('utf8'),
          stderr: Buffer.concat(stderrChunks).toString('utf8'),
          stdoutBytes,
        });
      };
      channel.on('close', () => void stdoutDone.then(settle));
    });
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
