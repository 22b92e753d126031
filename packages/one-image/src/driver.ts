import { isActionName, isSupported, unsupportedReason } from './actions-list.js';

/**
 * Entry point of the bundled driver (`remotes/datastore/gfs2clvm/gfs2clvm-ds.mjs`): each action
 * file is a shim calling `main('<action>')`.
 */
export async function main(action: string): Promise<void> {
  const code = 1;
  if (!isActionName(action)) process.stderr.write(`${action.slice(0, 60)}: not a gfs2clvm DS action\n`);
  else if (!isSupported(action)) process.stderr.write(`${unsupportedReason(action)}\n`);
  else process.stderr.write(`${action}: not implemented yet\n`);
  process.stderr.write('', () => process.exit(code));
}
