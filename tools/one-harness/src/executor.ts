import { spawn } from 'node:child_process';
import { logMessages } from './messages.js';

/** One script run as `LocalCommand.run` does it. */
export interface CommandSpec {
  /** `[script, ...args]`, executed directly (the real driver shell-escapes each word; same effect). */
  argv: readonly string[];
  /** The command line the real driver builds and logs (`Command execution failed …: <this>`). */
  commandLine: string;
  /** Written to the script's stdin, which is then closed; empty when absent (never a terminal). */
  stdin?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `-w` of `one_datastore.rb`: TERM the process group after this long, report a timeout. */
  timeoutMs?: number;
}

/** What happened to one script: what tests inspect besides the protocol lines. */
export interface CommandRecord {
  argv: readonly string[];
  commandLine: string;
  stdin: string;
  /** The code the driver acts on: the exit status, or 255 for a signal, timeout or spawn error. */
  code: number;
  /** The real exit status (`null` when killed by a signal or never started). */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  /** As the driver sees it: replaced by the timeout/internal-error text in those cases. */
  stderr: string;
  timedOut: boolean;
  /** `Internal error …` or `Timeout executing …` when the command object raised. */
  raised?: string;
  /** `Date.now()` at spawn and when the result was taken. */
  startedAt: number;
  endedAt: number;
  durationMs: number;
}

// Ruby's strerror texts, which end up verbatim in `Internal error <text> - <path>`.
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOEXEC: 'Exec format error',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  E2BIG: 'Argument list too long',
};

/**
 * Ruby's reader threads get 0.1 s after the process exits before they are killed, so a
 * background child holding stdout open does not hang the driver; neither does it hang us.
 */
const READER_GRACE_MS = 100;

export function runCommand(spec: CommandSpec): Promise<CommandRecord> {
  const [file, ...args] = spec.argv;
  const startedAt = Date.now();
  const stdin = spec.stdin ?? '';
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    const finish = (fields: Pick<CommandRecord, 'code' | 'exitCode' | 'signal'> & { raised?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      const endedAt = Date.now();
      const raised = fields.raised ?? (timedOut ? `Timeout executing ${spec.commandLine}` : undefined);
      resolve({
        argv: spec.argv,
        commandLine: spec.commandLine,
        stdin,
        code: raised === undefined ? fields.code : 255,
        exitCode: fields.exitCode,
        signal: fields.signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: raised ?? Buffer.concat(err).toString('utf8'),
        timedOut,
        ...(raised === undefined ? {} : { raised }),
        startedAt,
        endedAt,
        durationMs: endedAt - startedAt,
      });
    };

    // A process group of its own, like Open3 with `pgroup: true`: the timeout kills the whole group.
    const child = spawn(file ?? '', args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: 'pipe' });
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => {
      // EPIPE: the script did not read its input; Ruby ignores that too.
    });
    child.stdin.end(stdin);

    child.on('error', (error: NodeJS.ErrnoException) => {
      const text = ERRNO_TEXT[error.code ?? ''] ?? error.message;
      finish({ code: 255, exitCode: null, signal: null, raised: `Internal error ${text} - ${file}` });
    });
    child.on('close', (exitCode, signal) => finish({ code: exitCode ?? 255, exitCode, signal }));
    child.on('exit', (exitCode, signal) => {
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ code: exitCode ?? 255, exitCode, signal });
      }, READER_GRACE_MS);
    });

    if (spec.timeoutMs !== undefined && spec.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
        } catch {
          // Already gone: the exit handler reports the timeout anyway, as Ruby would.
        }
      }, spec.timeoutMs);
    }
  });
}

/**
 * What the command object logs by itself, under the action's id, before the driver looks at the
 * result: the raised text, or for a non-zero exit the command line and then the whole stderr.
 */
export function commandLogs(id: string, record: CommandRecord): string[] {
  if (record.raised !== undefined) return logMessages(id, record.raised);
  if (record.code === 0) return [];
  return [
    ...logMessages(id, `Command execution failed (exit code: ${record.code}): ${record.commandLine}`),
    ...logMessages(id, record.stderr),
  ];
}
