import {
  type ActionResult,
  checkWord,
  DriverBase,
  type DriverOptions,
  defaultCwd,
  listDrivers,
} from './driver.js';
import { readDsType } from './ds-payload.js';
import { HarnessError } from './errors.js';
import { commandLogs, runCommand } from './executor.js';
import { formatMessage } from './messages.js';
import type { ActionContext } from './queue.js';
import { base64, rubyFileJoin, rubyToI } from './ruby.js';
import { infoFromExecution } from './stderr.js';

/** The actions `one_datastore.rb` registers; anything else is dropped without a reply. */
export const DS_ACTIONS = [
  'CP',
  'RM',
  'MKFS',
  'STAT',
  'CLONE',
  'MONITOR',
  'SNAP_DELETE',
  'SNAP_REVERT',
  'SNAP_FLATTEN',
  'RESTORE',
  'INCREMENT_FLATTEN',
] as const;
export type DsAction = (typeof DS_ACTIONS)[number];

export interface DsOptions extends DriverOptions {
  /** `-d`: accepted `DS_MAD` names. Default: every sub-directory of `<remotes>/datastore`. */
  drivers?: readonly string[];
  /** `-s`: accepted system-DS `TM_MAD` names for MONITOR of TYPE=1. Default `shared,ssh,ceph`. */
  systemDrivers?: readonly string[];
  /** `-w`: TERM a script's process group after this many seconds (0 or absent: never). */
  timeoutSeconds?: number;
  /**
   * How the payload reaches the script: `stdin` (6.8 and later: argv `[id]`, base64 on stdin with
   * no newline) or `argv` (up to 6.6: argv `[base64, id]`, empty stdin). Default `stdin`.
   */
  payload?: 'stdin' | 'argv';
}

export function isDsAction(action: string): action is DsAction {
  return (DS_ACTIONS as readonly string[]).includes(action);
}

/** A stand-in for `one_datastore.rb`: runs DS actions like OpenNebula 7.x. */
export class DsDriver extends DriverBase {
  readonly drivers: readonly string[];
  readonly systemDrivers: readonly string[];
  private readonly remotesDir: string;
  private readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number | undefined;
  private readonly payload: 'stdin' | 'argv';

  constructor(options: DsOptions) {
    super(options);
    this.remotesDir = options.remotesDir;
    this.drivers = [...(options.drivers ?? listDrivers(rubyFileJoin(options.remotesDir, 'datastore')))];
    this.systemDrivers = [...(options.systemDrivers ?? ['shared', 'ssh', 'ceph'])];
    this.cwd = options.cwd ?? defaultCwd(options.remotesDir);
    this.env = options.env ?? process.env;
    const seconds = options.timeoutSeconds;
    if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 0)) {
      throw new HarnessError(
        'INVALID_ARGUMENT',
        `timeoutSeconds must be a non-negative integer, got ${seconds}`,
      );
    }
    this.timeoutMs = seconds ? seconds * 1000 : undefined;
    this.payload = options.payload ?? 'stdin';
  }

  /** `<ACTION> <id> <base64 of xml>`: queued like the real driver; resolves when it is over. */
  dsAction(action: string, id: number | string, xml: string): Promise<ActionResult> {
    return this.dsActionBase64(action, id, base64(xml));
  }

  /** Same with the payload already base64-encoded, exactly as it would appear on oned's line. */
  dsActionBase64(action: string, id: number | string, payload: string): Promise<ActionResult> {
    const name = action.toUpperCase();
    if (!isDsAction(name)) {
      throw new HarnessError('UNKNOWN_ACTION', `one_datastore.rb has no action ${JSON.stringify(action)}`);
    }
    const idWord = checkWord('DS action id', id);
    checkWord('DS payload', payload);
    const base = (): ActionResult => ({
      action: name,
      id: idWord,
      lines: [],
      commands: [],
      cancelled: false,
    });
    return this.queue.submit(
      rubyToI(idWord),
      (context) => this.run(base(), payload, context),
      () => ({ ...base(), cancelled: true }),
    );
  }

  private async run(result: ActionResult, payload: string, context: ActionContext): Promise<ActionResult> {
    const send = (message: string) => {
      if (!context.cancelled) this.output.send(message, result.lines);
    };
    const reply = (outcome: 'SUCCESS' | 'FAILURE', info: string): ActionResult => {
      if (context.cancelled) return { ...result, cancelled: true };
      const message = formatMessage(result.action, outcome, result.id, info);
      return { ...result, reply: this.output.send(message, result.lines), result: outcome, info };
    };
    const type = readDsType(Buffer.from(payload, 'base64').toString('utf8'));
    if (!type) return { ...result, crash: 'payload is not an XML document' };

    let dir: string;
    if (result.action === 'MONITOR' && type.systemTmMad !== '') {
      if (!this.systemDrivers.includes(type.systemTmMad)) {
        return reply('FAILURE', `System datastore driver '${type.systemTmMad}' not available`);
      }
      dir = rubyFileJoin(this.remotesDir, 'tm', type.systemTmMad);
    } else {
      if (!this.drivers.includes(type.dsMad)) {
        return reply('FAILURE', `Datastore driver '${type.dsMad}' not available`);
      }
      dir = rubyFileJoin(this.remotesDir, 'datastore', type.dsMad);
    }
    const script = rubyFileJoin(dir, result.action.toLowerCase());
    const argv = this.payload === 'stdin' ? [script, result.id] : [script, payload, result.id];
    const command = await runCommand({
      argv,
      commandLine: argv.join(' '),
      ...(this.payload === 'stdin' ? { stdin: payload } : {}),
      cwd: this.cwd,
      env: this.env,
      ...(this.timeoutMs === undefined ? {} : { timeoutMs: this.timeoutMs }),
    });
    result.commands.push(command);
    const { result: outcome, info, logs } = infoFromExecution(command, this.infoRules);
    for (const message of [...commandLogs(result.id, command), ...logs]) send(message);
    // MONITOR answers are base64 (whatever the outcome) so multi-line KEY=VALUE output fits a line.
    return reply(outcome, result.action === 'MONITOR' ? base64(info) : info);
  }
}
