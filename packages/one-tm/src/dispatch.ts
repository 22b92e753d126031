import { Gfs2Error } from '@one-gfs2clvm/gfs2';
import { LvmError } from '@one-gfs2clvm/lvm';
import { RemoteError } from '@one-gfs2clvm/ssh-remote';
import { clone, ln } from './actions/clone.js';
import { context } from './actions/context-iso.js';
import { del } from './actions/delete.js';
import { failmigrate, postmigrate, premigrate } from './actions/migrate.js';
import { mkimage, mkswap } from './actions/mkimage.js';
import { monitor } from './actions/monitor.js';
import { mv } from './actions/mv.js';
import { resize } from './actions/resize.js';
import { cpds, mvds } from './actions/save.js';
import { snapCreate, snapDelete, snapRevert } from './actions/snapshot.js';
import { isActionName, isSupported, type SupportedAction, unsupportedReason } from './actions-list.js';
import type { ActionContext } from './context.js';
import { TmError } from './errors.js';
import { singleLine } from './log.js';
import type { OneClient } from './one-client.js';
import { type DriverSpec, type RunActionOptions, runDriverAction } from './run-driver-action.js';

type Action = (ctx: ActionContext, argv: readonly string[]) => Promise<void>;

const ACTIONS: Record<SupportedAction, Action> = {
  clone,
  ln,
  mkimage,
  mkswap,
  delete: del,
  mv,
  mvds,
  cpds,
  context,
  premigrate,
  postmigrate,
  failmigrate,
  resize,
  monitor,
  snap_create: snapCreate,
  snap_delete: snapDelete,
  snap_revert: snapRevert,
};

/** The TM driver in the skeleton: argv as is, stdin read only by the actions that take it. */
const TM_DRIVER: DriverSpec<SupportedAction, readonly string[], OneClient> = {
  kind: 'TM',
  isActionName,
  isSupported,
  unsupportedReason,
  input: async (_name, argv, readStdin) => ({ input: argv, readStdin }),
  actions: ACTIONS,
  userLine,
  diagnostics,
  exitCode: exitCodeOf,
};

/** The longest user-visible line: OpenNebula keeps ~60 characters in the VM's ERROR, the log all. */
const MAX_USER_LINE = 300;

/**
 * Runs one TM action as OpenNebula calls it and returns the exit code. On failure: diagnostics on
 * `ERROR:` lines, then exactly one plain stderr line for the user (one_tm.rb makes it the INFO).
 */
export function runAction(name: string, argv: readonly string[], options: RunActionOptions): Promise<number> {
  return runDriverAction(TM_DRIVER, name, argv, options);
}

/** The one plain line: the library messages already start with what was done and where. */
export function userLine(error: unknown): string {
  let text: string;
  const ssh = sshFailure(error);
  if (ssh) text = ssh.code === 'CONNECTION_LOST' ? connectionLost(ssh) : ssh.message;
  else if (TmError.isInstance(error) || Gfs2Error.isInstance(error) || RemoteError.isInstance(error))
    text = error.message;
  else if (LvmError.isInstance(error)) text = lvmUserText(error);
  else text = `internal error: ${error instanceof Error ? error.message : String(error)}`;
  const line = singleLine(text);
  return line.length > MAX_USER_LINE ? `${line.slice(0, MAX_USER_LINE - 1)}…` : line;
}

/** SSH failures that say the host itself is the problem: their message is the essential one. */
const HOST_PROBLEMS = new Set([
  'UNREACHABLE',
  'AUTH_FAILED',
  'HOST_KEY_UNKNOWN',
  'HOST_KEY_MISMATCH',
  'CONNECTION_LOST',
]);

/**
 * A connection that broke while a command ran: the host crashed or was cut off (seen on the
 * testbed: a host killed during a clone's copy). Said first, with the command's name; the
 * library's message, which quotes the whole argv, follows.
 */
function connectionLost(error: RemoteError): string {
  const command = error.argv.find((word) => !/^(env|sudo|-n|[A-Z_]+=.*)$/.test(word)) ?? 'a command';
  return `${error.host}: SSH connection lost while running ${command} (host crashed or cut off?): ${error.message}`;
}

function sshFailure(error: unknown): RemoteError | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (RemoteError.isInstance(current) && HOST_PROBLEMS.has(current.code)) return current;
    current = current.cause;
  }
  return undefined;
}

function lvmUserText(error: LvmError): string {
  switch (error.code) {
    case 'LOCKSPACE_NOT_STARTED': {
      const vg = /\bVG "?([A-Za-z0-9+_.-]+)/.exec(error.message)?.[1];
      return vg
        ? `lockspace of VG ${vg} not started on ${error.host}: run vgchange --lockstart ${vg} there (${error.message})`
        : `lockspace not started on ${error.host} (vgchange --lockstart): ${error.message}`;
    }
    case 'LOCKED_BY_OTHER_HOST':
      return `LV locked by another host: ${error.message}`;
    default:
      return error.message;
  }
}

/** What oned.log should get besides the user line: commands, hosts, exit codes, stderr. */
function diagnostics(error: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    if (LvmError.isInstance(current)) {
      lines.push(
        `[${current.code}] on ${current.host}: ${current.argv.join(' ')} exit ${current.exitCode}: ${current.stderr}`,
      );
    } else if (RemoteError.isInstance(current)) {
      lines.push(`[${current.code}] ${current.message} ${current.stderrTail}`);
    } else if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      lines.push(`${current.name}${code ? ` [${String(code)}]` : ''}: ${current.message}`);
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  if (
    !TmError.isInstance(error) &&
    !LvmError.isInstance(error) &&
    !Gfs2Error.isInstance(error) &&
    error instanceof Error
  )
    lines.push(error.stack ?? '');
  return lines.filter((l) => l.trim() !== '');
}

/** 2 for wrong usage (like a shell command), 1 for everything else. */
function exitCodeOf(error: unknown): number {
  return TmError.hasCode(error, 'USAGE') ? 2 : 1;
}
