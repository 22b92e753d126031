import {
  type DriverSpec,
  type OneImageClient,
  runDriverAction,
  singleLine,
  type RunActionOptions as TmRunActionOptions,
  userLine as tmUserLine,
} from '@one-gfs2clvm/driver-runtime';
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

export type RunActionOptions = TmRunActionOptions<OneImageClient>;

/** The longest user-visible line (OpenNebula keeps the start of it in the image's error). */
const MAX_USER_LINE = 300;

/** The longest id argument accepted (oned's ids are 32-bit integers). */
const ID = /^(0|[1-9][0-9]{0,9})$/;

/**
 * The DS driver in driver-runtime's skeleton: `<action> <id>` + base64 payload on stdin, or the ≤ 6.6 form
 * `<action> <base64> <id>`, decoded and checked before the configuration is read or a host contacted.
 */
const DS_DRIVER: DriverSpec<SupportedAction, DsRequest, OneImageClient> = {
  kind: 'DS',
  isActionName,
  isSupported,
  unsupportedReason,
  input: async (name, argv, readStdin) => {
    if (argv.length < 1 || argv.length > 2)
      throw new DsError(
        'USAGE',
        `${name}: expected <id> (payload on stdin) or <base64 payload> <id>, got ${argv.length} arguments`,
      );
    const stdin = argv.length === 1 ? await readStdin() : '';
    const input = decodeActionInput([...argv], stdin);
    if (!ID.test(input.id))
      throw new DsError(
        'INVALID_ARGUMENT',
        `${name}: id ${JSON.stringify(singleLine(input.id).slice(0, 20))} is not a number`,
      );
    return {
      input: { id: Number(input.id), data: parseDsActionData(input.xml) },
      readStdin: async () => stdin,
    };
  },
  actions: ACTIONS,
  userLine,
  diagnostics,
  exitCode: (error) => (DsError.hasCode(error, 'USAGE') ? 2 : 1),
};

/**
 * Runs one DS action as one_datastore.rb calls it and returns the exit code. stdout carries the
 * answer only; on failure: `ERROR:` diagnostics, then exactly one plain stderr line for the user.
 */
export function runAction(name: string, argv: readonly string[], options: RunActionOptions): Promise<number> {
  return runDriverAction(DS_DRIVER, name, argv, options);
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
