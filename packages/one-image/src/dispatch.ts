import type { Readable, Writable } from 'node:stream';
import {
  CliOneClient,
  type DriverConfig,
  HostPool,
  Log,
  loadConfig,
  type OneImageClient,
  singleLine,
  userLine as tmUserLine,
} from '@one-gfs2clvm/one-tm';
import { LocalRunner, type Runner } from '@one-gfs2clvm/ssh-remote';
import { decodeActionInput, parseDsActionData } from './action-data.js';
import { clone } from './actions/clone.js';
import { cp } from './actions/cp.js';
import { mkfs } from './actions/mkfs.js';
import { monitor } from './actions/monitor.js';
import { rm } from './actions/rm.js';
import { stat } from './actions/stat.js';
import { isActionName, isSupported, type SupportedAction, unsupportedReason } from './actions-list.js';
import type { DsContext, DsRequest } from './context.js';
import { DsError } from './errors.js';

type Action = (ctx: DsContext, request: DsRequest) => Promise<void>;

const ACTIONS: Record<SupportedAction, Action> = { cp, mkfs, rm, stat, clone, monitor };

export interface RunActionOptions {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** The driver configuration file (the TM driver's; missing: defaults). */
  configPath: string;
  /** Replaces the OpenNebula CLI client. */
  one?: OneImageClient;
  /** Replaces the configuration file. */
  config?: DriverConfig;
  /** Replaces the SSH connection to a host. */
  connect?: (host: string) => Runner;
}

/** The longest user-visible line (OpenNebula keeps the start of it in the image's error). */
const MAX_USER_LINE = 300;

/** The longest id argument accepted (oned's ids are 32-bit integers). */
const ID = /^(0|[1-9][0-9]{0,9})$/;

/**
 * Runs one DS action as one_datastore.rb calls it (`<action> <id>` + base64 payload on stdin, or the
 * ≤ 6.6 form `<action> <base64> <id>`) and returns the exit code. stdout carries the answer only; on
 * failure: `ERROR:` diagnostics, then exactly one plain stderr line for the user.
 */
export async function runAction(
  name: string,
  argv: readonly string[],
  options: RunActionOptions,
): Promise<number> {
  const log = new Log(options.stderr, name);
  if (!isActionName(name)) {
    options.stderr.write(`${singleLine(name).slice(0, 60)}: not a gfs2clvm DS action\n`);
    return 1;
  }
  if (!isSupported(name)) {
    options.stderr.write(`${unsupportedReason(name)}\n`);
    return 1;
  }
  let hosts: HostPool | undefined;
  try {
    if (argv.length < 1 || argv.length > 2)
      throw new DsError(
        'USAGE',
        `${name}: expected <id> (payload on stdin) or <base64 payload> <id>, got ${argv.length} arguments`,
      );
    const stdin = argv.length === 1 ? await readAll(options.stdin) : '';
    const input = decodeActionInput([...argv], stdin);
    if (!ID.test(input.id))
      throw new DsError(
        'INVALID_ARGUMENT',
        `${name}: id ${JSON.stringify(singleLine(input.id).slice(0, 20))} is not a number`,
      );
    const request: DsRequest = { id: Number(input.id), data: parseDsActionData(input.xml) };
    const config = options.config ?? loadConfig(options.configPath);
    const actionLog = new Log(options.stderr, name, { debug: config.debug });
    hosts = new HostPool(config, options.connect, config.debug ? (line) => actionLog.debug(line) : undefined);
    const ctx: DsContext = {
      action: name,
      config,
      one: options.one ?? new CliOneClient(new LocalRunner()),
      hosts,
      log: actionLog,
      readStdin: async () => stdin,
      stdout: options.stdout,
    };
    await ACTIONS[name](ctx, request);
    return 0;
  } catch (error) {
    for (const line of diagnostics(error)) log.error(line);
    options.stderr.write(`${userLine(error)}\n`);
    return DsError.hasCode(error, 'USAGE') ? 2 : 1;
  } finally {
    await hosts?.closeAll();
  }
}

/** The one plain line: the driver's own message, else the TM driver's rendering of library errors. */
export function userLine(error: unknown): string {
  if (!DsError.isInstance(error)) return tmUserLine(error);
  const line = singleLine(error.message);
  return line.length > MAX_USER_LINE ? `${line.slice(0, MAX_USER_LINE - 1)}…` : line;
}

/** What oned.log gets besides the user line: every error of the cause chain with its details. */
function diagnostics(error: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const e = current as Error & {
      code?: unknown;
      host?: unknown;
      argv?: unknown;
      exitCode?: unknown;
      stderr?: unknown;
      stderrTail?: unknown;
    };
    const parts = [`${e.name}${e.code ? ` [${String(e.code)}]` : ''}: ${e.message}`];
    if (Array.isArray(e.argv)) parts.push(`argv: ${e.argv.join(' ')}`);
    if (e.exitCode !== undefined) parts.push(`exit ${String(e.exitCode)}`);
    const stderr =
      typeof e.stderr === 'string' ? e.stderr : typeof e.stderrTail === 'string' ? e.stderrTail : '';
    if (stderr.trim() !== '') parts.push(`stderr: ${stderr.trim()}`);
    lines.push(parts.join('; '));
    current = e.cause;
  }
  if (error instanceof Error && !('code' in error)) lines.push(error.stack ?? '');
  return lines.filter((l) => l.trim() !== '');
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
