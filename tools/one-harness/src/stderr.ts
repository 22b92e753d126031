import { formatMessage, type Result, type Severity } from './messages.js';
import { rubyIntegerOfDigits, rubyLines, rubyStrip } from './ruby.js';

/** What `get_info_from_execution` needs from a finished command. */
export interface Execution {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Which front-end generation's rules turn a script's output into the reply: `7` (7.0 and later,
 * "F #1550") or `6` (6.2 – 6.10, "B #5065": the whole stderr is the failure text).
 */
export type InfoRules = '7' | '6';

/** The outcome of one script as the front-ends report it. */
export interface ExecutionInfo {
  result: Result;
  /** The reply's INFO: stdout on success, the plain stderr lines glued together on failure, or `-`. */
  info: string;
  /** `LOG` messages forwarded from `ERROR:`/`INFO:`/`WARN:`/`DEBUG:` stderr lines, in order. */
  logs: string[];
}

// `\s+` after the colon is required: `ERROR:text` is a plain line. The optional number becomes
// the LOG id (oned routes id >= 0 to that VM's log); without it the id is -1 (oned.log).
const FORWARDED = /^(ERROR|INFO|WARN|DEBUG):[ \t\n\v\f\r]+(\d+)?[ \t\n\v\f\r]*([^\n]*)$/;
const SEVERITY: Record<string, Severity> = { ERROR: 'E', INFO: 'I', WARN: 'W', DEBUG: 'D' };

/**
 * OpenNebula 7.x `DriverExecHelper#get_info_from_execution`. Prefixed stderr lines become LOG
 * messages whether the script failed or not; plain lines are concatenated with no separator into
 * the failure INFO (so a script should print exactly one); on success INFO is stdout verbatim.
 */
export function infoFromExecution(execution: Execution, rules: InfoRules = '7'): ExecutionInfo {
  if (rules === '6') return infoFromExecution6(execution);
  const logs: string[] = [];
  let plain = '';
  for (const raw of rubyLines(execution.stderr)) {
    const line = rubyStrip(raw);
    const m = FORWARDED.exec(line);
    if (!m) {
      plain += line;
      continue;
    }
    const id = m[2] === undefined ? '-1' : (rubyIntegerOfDigits(m[2]) ?? '-1');
    logs.push(formatMessage('LOG', SEVERITY[m[1] as string] as Severity, id, rubyStrip(m[3] ?? '')));
  }
  const result: Result = execution.code === 0 ? 'SUCCESS' : 'FAILURE';
  const info = result === 'SUCCESS' ? execution.stdout : rubyStrip(plain);
  return { result, info: info === '' ? '-' : info, logs };
}

/**
 * 6.2 – 6.10: nothing is forwarded; a failure's INFO is the entire stderr (`ERROR:` lines
 * included) with newlines turned into blanks, stripped.
 */
function infoFromExecution6(execution: Execution): ExecutionInfo {
  if (execution.code === 0)
    return { result: 'SUCCESS', info: execution.stdout === '' ? '-' : execution.stdout, logs: [] };
  const info = rubyStrip(execution.stderr.replaceAll('\n', ' '));
  return { result: 'FAILURE', info: info === '' ? '-' : info, logs: [] };
}
