import { join } from 'node:path';
import { defineConfig } from 'tsup';
import { driverBuild } from '../../tsup.shared.js';
import { DS_ACTIONS } from './src/actions-list.js';

// The configuration is the TM driver's (`remotes/etc/tm/gfs2clvm/`): nothing more to write.
export default defineConfig(
  driverBuild({
    kind: 'DS',
    bundle: 'gfs2clvm-ds',
    actionDir: join('dist', 'remotes', 'datastore', 'gfs2clvm'),
    actions: DS_ACTIONS,
  }),
);
