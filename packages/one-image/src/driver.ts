import { driverMain } from '@one-gfs2clvm/driver-runtime';
import { runAction } from './dispatch.js';

/**
 * Entry point of the bundled driver (`remotes/datastore/gfs2clvm/gfs2clvm-ds.mjs`): each action
 * file is a shim calling `main('<action>')`. The configuration is the TM driver's:
 * `$GFS2CLVM_CONF`, else `<remotes>/etc/tm/gfs2clvm/gfs2clvm.conf` next to the installed scripts.
 */
export function main(action: string): Promise<void> {
  return driverMain(action, runAction, import.meta.url);
}
