import {
  type ActionContext,
  DriverError,
  type DriverSpec,
  type OneClient,
  type RunActionOptions,
  runDriverAction,
  userLine,
} from '@one-gfs2clvm/driver-runtime';
import { Gfs2Error } from '@one-gfs2clvm/gfs2';
import { LvmError } from '@one-gfs2clvm/lvm';
import { RemoteError } from '@one-gfs2clvm/ssh-remote';
import { postbackup, prebackup } from './actions/backup.js';
import { clone, ln } from './actions/clone.js';
import { context } from './actions/context-iso.js';
import { del } from './actions/delete.js';
import { failmigrate, postmigrate, premigrate } from './actions/migrate.js';
import { mkimage, mkswap } from './actions/mkimage.js';
import { monitor } from './actions/monitor.js';
import { mv } from './actions/mv.js';
import { resize } from './actions/resize.js';
import { cpds, mvds } from './actions/save.js';
import { snapCreate, snapCreateLive, snapDelete, snapRevert } from './actions/snapshot.js';
import { isActionName, isSupported, type SupportedAction, unsupportedReason } from './actions-list.js';

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
  snap_create_live: snapCreateLive,
  snap_delete: snapDelete,
  snap_revert: snapRevert,
  prebackup,
  postbackup,
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

/**
 * Runs one TM action as OpenNebula calls it and returns the exit code. On failure: diagnostics on
 * `ERROR:` lines, then exactly one plain stderr line for the user (one_tm.rb makes it the INFO).
 */
export function runAction(name: string, argv: readonly string[], options: RunActionOptions): Promise<number> {
  return runDriverAction(TM_DRIVER, name, argv, options);
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
    !DriverError.isInstance(error) &&
    !LvmError.isInstance(error) &&
    !Gfs2Error.isInstance(error) &&
    error instanceof Error
  )
    lines.push(error.stack ?? '');
  return lines.filter((l) => l.trim() !== '');
}

/** 2 for wrong usage (like a shell command), 1 for everything else. */
function exitCodeOf(error: unknown): number {
  return DriverError.hasCode(error, 'USAGE') ? 2 : 1;
}
