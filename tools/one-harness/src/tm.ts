import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type ActionResult,
  checkWord,
  DriverBase,
  type DriverOptions,
  defaultCwd,
  listDrivers,
} from './driver.js';
import { HarnessError } from './errors.js';
import { type CommandRecord, commandLogs, runCommand } from './executor.js';
import { formatMessage, type Result } from './messages.js';
import type { ActionContext } from './queue.js';
import { rubyFileJoin, rubyToI, shellwordsEscape } from './ruby.js';
import { infoFromExecution } from './stderr.js';
import { assertVmId, parseTransferFile, writeTransferFile } from './transfer-file.js';

export interface TmOptions extends DriverOptions {
  /** `-d`: TM drivers accepted in transfer lines. Default: every sub-directory of `<remotes>/tm`. */
  drivers?: readonly string[];
  /** `-w`: accepted and ignored — `one_tm.rb` runs transfer scripts without a timeout. */
  timeoutSeconds?: number;
  /** Where `transferLines` writes `<vmid>/transfer.<seq>.<op>`. Default: `<cwd>/vms`. */
  vmsDir?: string;
}

export interface TransferResult extends ActionResult {
  /** The transfer file that was run. */
  file: string;
}

/** `do_transfer_action` for one transfer line or VMM-originated TM command. */
export interface TmCommandResult {
  result: Result;
  /** Failure text, or on success the script's stdout (`-` when empty). */
  info: string;
  /** The LOG lines printed while running it (there is no reply line of its own). */
  lines: string[];
  /** The script run; absent when the driver or script was not found. */
  command?: CommandRecord;
}

/** A stand-in for `one_tm.rb`: runs transfer files and single TM commands like OpenNebula 7.x. */
export class TmDriver extends DriverBase {
  readonly drivers: readonly string[];
  readonly vmsDir: string;
  private readonly scriptsDir: string;
  private readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly sequence = new Map<string, number>();

  constructor(options: TmOptions) {
    super(options);
    this.scriptsDir = rubyFileJoin(options.remotesDir, 'tm');
    this.drivers = [...(options.drivers ?? listDrivers(this.scriptsDir))];
    this.cwd = options.cwd ?? defaultCwd(options.remotesDir);
    this.env = options.env ?? process.env;
    this.vmsDir = options.vmsDir ?? join(this.cwd, 'vms');
  }

  /** `TRANSFER <vmId> <file>`: queued like the real driver; resolves once the action is over. */
  transfer(vmId: number | string, file: string): Promise<TransferResult> {
    const id = checkWord('TRANSFER id', vmId);
    checkWord('transfer file path', file);
    const base = (): TransferResult => ({
      action: 'TRANSFER',
      id,
      file,
      lines: [],
      commands: [],
      cancelled: false,
    });
    return this.queue.submit(
      rubyToI(id),
      (context) => this.runTransfer(base(), context),
      () => ({ ...base(), cancelled: true }),
    );
  }

  /**
   * Writes `<vmsDir>/<vmId>/transfer.<seq>.<op>` (seq counts per VM from 0, like oned) with these
   * lines, then sends `TRANSFER` for it — queued before this call returns, so calls keep their order.
   */
  async transferLines(
    vmId: number | string,
    lines: readonly string[],
    op = 'prolog',
  ): Promise<TransferResult> {
    const vm = assertVmId(vmId);
    const seq = this.sequence.get(vm) ?? 0;
    this.sequence.set(vm, seq + 1);
    const file = writeTransferFile(this.vmsDir, vm, seq, op, lines);
    return this.transfer(vm, file);
  }

  /**
   * A TM command run by the VMM driver outside TRANSFER (`PREMIGRATE`, `POSTMIGRATE`,
   * `FAILMIGRATE` with the base64 VM XML as `stdin`; `CONTEXT`, `RESIZE`, attach/detach lines).
   * Like `one_vmm_exec.rb`, every driver under `<remotes>/tm` is accepted and the TM queue is not
   * used (the VMM driver has its own). Its LOG lines go to `output`; the VMM reply is not modelled.
   */
  async tmCommand(id: number | string, words: readonly string[], stdin?: string): Promise<TmCommandResult> {
    const idWord = checkWord('TM command id', id);
    if (words.length < 1)
      throw new HarnessError('INVALID_ARGUMENT', 'TM command needs at least an action word');
    for (const word of words) checkWord('TM command word', word);
    const lines: string[] = [];
    const outcome = await this.runLine(idWord, words, stdin, lines, listDrivers(this.scriptsDir), {
      cancelled: false,
    });
    return { ...outcome, lines };
  }

  private async runTransfer(result: TransferResult, context: ActionContext): Promise<TransferResult> {
    const reply = (outcome: Result, info?: string): TransferResult => {
      if (context.cancelled) return { ...result, cancelled: true };
      const message = formatMessage('TRANSFER', outcome, result.id, info);
      return {
        ...result,
        reply: this.output.send(message, result.lines),
        result: outcome,
        info: info ?? '-',
      };
    };
    // A relative path is relative to the driver's working directory; the message quotes it as sent.
    const path = resolve(this.cwd, result.file);
    if (!existsSync(path)) return reply('FAILURE', `Transfer file '${result.file}' does not exist`);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      // The Ruby thread dies on the exception: no reply at all.
      return { ...result, crash: `cannot read ${result.file}: ${(error as Error).message}` };
    }
    for (const words of parseTransferFile(text)) {
      if (context.cancelled) return { ...result, cancelled: true };
      const outcome = await this.runLine(result.id, words, undefined, result.lines, this.drivers, context);
      if (outcome.command) result.commands.push(outcome.command);
      if (outcome.result === 'FAILURE') return reply('FAILURE', outcome.info);
    }
    return reply('SUCCESS');
  }

  /** `do_transfer_action`: resolve the script, run it, turn its output into LOG lines and a result. */
  private async runLine(
    id: string,
    words: readonly string[],
    stdin: string | undefined,
    collector: string[],
    drivers: readonly string[],
    context: ActionContext,
  ): Promise<Omit<TmCommandResult, 'lines'>> {
    const script = (words[0] ?? '').toLowerCase();
    const driver = words[1] ?? '';
    const args = words.slice(2);
    if (!drivers.includes(driver))
      return { result: 'FAILURE', info: `Transfer Driver '${driver}' not available` };
    let path = rubyFileJoin(this.scriptsDir, driver, script);
    if (!existsSync(path)) {
      // `CLONE.ssh` (ACTION.TM_MAD_SYSTEM) falls back to `clone`; names without a dot do not.
      const dot = script.lastIndexOf('.');
      if (dot < 0) return { result: 'FAILURE', info: `Driver path '${path}' does not exists` };
      const shortened = rubyFileJoin(this.scriptsDir, driver, script.slice(0, dot));
      if (!existsSync(shortened)) {
        return { result: 'FAILURE', info: `Driver path '${path}' nor '${shortened}' exists` };
      }
      path = shortened;
    }
    const command = await runCommand({
      argv: [path, ...args],
      commandLine: `${path} ${args.map(shellwordsEscape).join(' ')}`,
      ...(stdin === undefined ? {} : { stdin }),
      cwd: this.cwd,
      env: this.env,
    });
    const { result, info, logs } = infoFromExecution(command, this.infoRules);
    if (!context.cancelled) {
      for (const message of [...commandLogs(id, command), ...logs]) this.output.send(message, collector);
    }
    return { result, info, command };
  }
}
