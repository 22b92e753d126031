import { rubyLines, rubyStrip } from './ruby.js';

/** The two results a driver reports; `LOG` lines carry a severity instead. */
export type Result = 'SUCCESS' | 'FAILURE';
/** Severities of `LOG` lines: info, error, warning, debug. */
export type Severity = 'I' | 'E' | 'W' | 'D';

/**
 * One message as `send_message` prints it: `ACTION RESULT ID INFO`, INFO `-` when empty. INFO is
 * not sanitised (the real driver does not either): a script printing two lines to stdout on a DS
 * action produces a message of two protocol lines, as oned would see it.
 */
export function formatMessage(action: string, result: string, id: string, info = '-'): string {
  return `${action} ${result} ${id} ${info}`;
}

/** The lines a message occupies on the wire (Ruby `puts` adds no newline after a final one). */
export function protocolLines(message: string): string[] {
  const text = message.endsWith('\n') ? message.slice(0, -1) : message;
  return text.split('\n');
}

const LOG_PREFIX = /^(ERROR|DEBUG|INFO):([^\n]*)$/;
const LOG_SEVERITY: Record<string, Severity> = { ERROR: 'E', DEBUG: 'D', INFO: 'I' };

/**
 * `DriverExecHelper#log`: one `LOG` message per line of `text`, `ERROR:`/`DEBUG:`/`INFO:` lines
 * with their severity (the prefix removed), every other line as `I`. Used for what the command
 * object logs itself: `Command execution failed …` and the whole stderr of a failed script.
 * Note `WARN:` is not recognised here (it is in `infoFromExecution`).
 */
export function logMessages(id: string, text: string): string[] {
  return rubyLines(rubyStrip(text)).map((line) => {
    const m = LOG_PREFIX.exec(line);
    const severity = m ? (LOG_SEVERITY[m[1] as string] as Severity) : 'I';
    return formatMessage('LOG', severity, id, rubyStrip(m ? (m[2] as string) : line));
  });
}
