import { actionNames } from '@one-gfs2clvm/driver-runtime';

/**
 * Every TM action name oned can emit for a driver (opennebula-protocol.md §2.2, §1.4.5), each an
 * executable in `remotes/tm/gfs2clvm/`. `ACTION.<mode>` lines fall back to these names in one_tm.rb.
 */
export const SUPPORTED_ACTIONS = [
  'clone',
  'ln',
  'mkimage',
  'mkswap',
  'delete',
  'mv',
  'mvds',
  'cpds',
  'context',
  'premigrate',
  'postmigrate',
  'failmigrate',
  'resize',
  'monitor',
  'snap_create',
  'snap_create_live',
  'snap_delete',
  'snap_revert',
  'prebackup',
  'postbackup',
] as const;

/** Emitted by oned but not supported (design §4): one clear line, exit 1. Thick disks refuse snap_* in the action. */
export const UNSUPPORTED_ACTIONS = ['prebackup_live', 'postbackup_live', 'restore'] as const;

export type SupportedAction = (typeof SUPPORTED_ACTIONS)[number];
export type UnsupportedAction = (typeof UNSUPPORTED_ACTIONS)[number];
export type ActionName = SupportedAction | UnsupportedAction;

const NAMES = actionNames(SUPPORTED_ACTIONS, UNSUPPORTED_ACTIONS);
export const TM_ACTIONS: readonly ActionName[] = NAMES.all;
export const { isActionName, isSupported } = NAMES;

/** Why an unsupported action is unsupported, for its one line. */
export function unsupportedReason(name: UnsupportedAction): string {
  return `${name}: backups not supported by gfs2clvm`;
}
