import { Gfs2Error } from '@one-gfs2clvm/gfs2';
import { LvmError } from '@one-gfs2clvm/lvm';
import { RemoteError } from '@one-gfs2clvm/ssh-remote';
import { DriverError } from './errors.js';
import { singleLine } from './log.js';

/** The longest user-visible line: OpenNebula keeps ~60 characters in the VM's ERROR, the log all. */
export const MAX_USER_LINE = 300;

/** The one plain line: the library messages already start with what was done and where. */
export function userLine(error: unknown): string {
  let text: string;
  const ssh = sshFailure(error);
  if (ssh) text = ssh.code === 'CONNECTION_LOST' ? connectionLost(ssh) : ssh.message;
  else if (DriverError.isInstance(error) || Gfs2Error.isInstance(error) || RemoteError.isInstance(error))
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
