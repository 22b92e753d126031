import { actionNames } from '@one-gfs2clvm/driver-runtime';

/**
 * Every DS action one_datastore.rb can run for an image datastore (opennebula-protocol.md §1.5), plus
 * `export`, which the marketplace driver runs itself. Each is an executable in
 * `remotes/datastore/gfs2clvm/`.
 */
export const SUPPORTED_ACTIONS = ['cp', 'mkfs', 'rm', 'stat', 'clone', 'monitor'] as const;

/** Callable but not supported (design §5): one clear line, exit 1. */
export const UNSUPPORTED_ACTIONS = [
  'snap_delete',
  'snap_revert',
  'snap_flatten',
  'restore',
  'increment_flatten',
  'export',
] as const;

export type SupportedAction = (typeof SUPPORTED_ACTIONS)[number];
export type UnsupportedAction = (typeof UNSUPPORTED_ACTIONS)[number];
export type ActionName = SupportedAction | UnsupportedAction;

const NAMES = actionNames(SUPPORTED_ACTIONS, UNSUPPORTED_ACTIONS);
export const DS_ACTIONS: readonly ActionName[] = NAMES.all;
export const { isActionName, isSupported } = NAMES;

/** Why an unsupported action is unsupported, for its one line. */
export function unsupportedReason(name: UnsupportedAction): string {
  if (name.startsWith('snap_')) return `${name}: image snapshots not supported by gfs2clvm (thick LVs)`;
  if (name === 'export') return 'export: marketplace export not supported by gfs2clvm';
  return `${name}: backup restore not supported by gfs2clvm`;
}
