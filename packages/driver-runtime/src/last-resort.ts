import { writeSync } from 'node:fs';
import { onUncaught } from '@one-gfs2clvm/errors';
import { redactSecrets, singleLine } from './log.js';

/*
 * The last resort of an action process (and of nothing else): an exception nobody caught or a
 * promise nobody awaited would otherwise print Node's stack trace (`node:events … Unhandled 'error'
 * event`) where oned expects one plain line. Every failure the code knows of has its own line at
 * its source; this handler only makes sure an unknown one still ends the same way: `ERROR:` lines
 * for oned.log, then one line `<action>: <essential words>`, exit 1.
 */

/** Node's system errors (`fs`, `child_process`, `net`): `code`, `syscall`, maybe `path`. */
interface SystemError extends Error {
  code: string;
  syscall?: string;
  path?: string;
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
  ENXIO: 'no such device or address',
  ENOSPC: 'no space left on device',
  EMFILE: 'too many open files',
  EPIPE: 'broken pipe',
  ECONNRESET: 'connection reset',
};

function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

/** The reason of a Node system error in plain words (`permission denied`), else its message. */
export function systemErrorReason(error: unknown): string {
  if (isSystemError(error)) {
    const reason = REASONS[error.code];
    if (reason !== undefined) return reason;
    // Node words them `CODE: text, syscall 'path'`: keep the text.
    const text = /^[A-Z0-9_]+: ([^,]+)/.exec(error.message)?.[1];
    return text ?? error.code;
  }
  return error instanceof Error ? error.message : String(error);
}

/** What the last resort prints for `error`: `ERROR:` lines, then the one plain line (last). */
export function lastResortLines(action: string, error: unknown): string[] {
  const plain = (text: string) => redactSecrets(singleLine(text));
  let essential: string;
  if (isSystemError(error) && error.syscall !== undefined) {
    const what = error.path === undefined ? error.syscall : `${error.syscall} ${error.path}`;
    essential = `${what} failed: ${systemErrorReason(error)}`;
  } else {
    essential = `unexpected failure: ${error instanceof Error ? error.message : String(error)}`;
  }
  const lines = [`ERROR: ${action}: unexpected ${error instanceof Error ? error.name : typeof error}`];
  const stack = error instanceof Error ? (error.stack ?? '').split('\n') : [String(error)];
  for (const frame of stack.slice(0, 12))
    if (frame.trim() !== '') lines.push(`ERROR: ${action}: ${plain(frame)}`);
  const user = plain(`${action}: ${essential}`);
  lines.push(user.length > 300 ? `${user.slice(0, 299)}…` : user);
  return lines;
}

/**
 * Installs the last resort for the process running `action` (call once, first thing in `main`):
 * on `uncaughtException` or `unhandledRejection`, `lastResortLines` written synchronously on
 * stderr (fd 2, so nothing is lost to the exit), then `exit(1)`. A second failure while it runs
 * changes nothing.
 */
export function installLastResort(
  action: string,
  write: (text: string) => void = (text) => writeSync(2, text),
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  onUncaught((error) => write(`${lastResortLines(action, error).join('\n')}\n`), exit);
}
