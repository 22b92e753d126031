import { RemoteError } from './errors.js';
import { PID_MARKER } from './remote-pid.js';

/**
 * THE audited quoting function: every argument that crosses SSH goes through here and nowhere else.
 *
 * POSIX single quotes make every byte literal for `sh`: nothing is expanded inside them
 * (`$`, backticks, `\`, `;`, `|`, newlines, unicode). The only byte that cannot appear inside
 * single quotes is `'` itself, written as `'\''` (close, escaped quote, reopen). A NUL cannot
 * travel in an argv at all (C strings end there), so it is refused instead of silently truncated.
 */
export function quoteForShell(arg: string): string {
  if (typeof arg !== 'string') {
    throw new RemoteError('INVALID_ARGUMENT', `argument must be a string, got ${typeof arg}`);
  }
  if (arg.includes('\0')) {
    throw new RemoteError(
      'INVALID_ARGUMENT',
      `argument contains a NUL byte: ${JSON.stringify(arg.slice(0, 60))}`,
    );
  }
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

/** Quotes each argument and joins them with spaces: a command line `sh -c` runs as exactly that argv. */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new RemoteError('INVALID_ARGUMENT', 'empty argv: nothing to run');
  return argv.map(quoteForShell).join(' ');
}

export interface RemoteCommandOptions {
  /** Seconds before the host's `timeout` ends the command; `0` or absent = no limit. */
  timeoutSeconds?: number;
  /** Seconds between `timeout`'s TERM and its KILL. */
  killAfterSeconds?: number;
  /** Runs before argv, e.g. `['sudo', '-n']`. */
  prefix?: readonly string[];
}

/**
 * Builds the string sshd hands to the user's shell (`sh -c <string>`). Pure, so it is table-tested.
 *
 * `printf 'ssh-remote-pid=%s\n' "$$" >&2`: tells the runner the PID that `exec` keeps for `timeout`,
 * so a timeout or abort can `kill` it over a second channel (see remote-pid.ts).
 * `export LC_ALL=C; exec …`: the locale is part of the command because sshd only passes environment
 * variables listed in `AcceptEnv`; set by the shell itself rather than by `env`, one process start
 * fewer per command (they cost 50–250 ms each on an emulated CPU).
 * `setpriv --pdeathsig TERM`: when the SSH session process on the host goes away (connection
 * dropped, sshd killed) the kernel sends TERM to `timeout`, which passes it to the whole command.
 * `timeout -k K S` (S = 0: no limit): runs the command in its own process group and, on its deadline
 * or on a TERM/HUP (from the parent-death signal or an SSH `signal` request), signals the group,
 * then KILLs it K seconds later, so nothing is left running.
 * `setsid` before a prefix (`sudo`): sudo does not relay signals sent from its own process group,
 * so the prefixed command gets a session of its own and `timeout`'s TERM reaches sudo from outside.
 */
export function buildRemoteCommand(argv: readonly string[], options: RemoteCommandOptions = {}): string {
  const prefix = options.prefix ?? [];
  const seconds = options.timeoutSeconds ?? 0;
  const killAfter = options.killAfterSeconds ?? 5;
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RemoteError('INVALID_ARGUMENT', `timeout must be a positive number of seconds, got ${seconds}`);
  }
  const wrapper = [
    'exec',
    'setpriv',
    '--pdeathsig',
    'TERM',
    'timeout',
    '-k',
    `${killAfter}s`,
    `${formatSeconds(seconds)}s`,
  ];
  const command = [...(prefix.length > 0 ? ['setsid', ...prefix] : []), ...argv];
  // The wrapper words are fixed constants without shell metacharacters; everything from callers is quoted.
  return `printf '${PID_MARKER}%s\\n' "$$" >&2; export LC_ALL=C; ${wrapper.join(' ')} ${quoteArgv(command)}`;
}

/** `timeout` takes fractions; milliseconds precision is enough and avoids `1e-7` notation. */
function formatSeconds(seconds: number): string {
  return String(Math.round(seconds * 1000) / 1000);
}
