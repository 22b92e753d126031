import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { defineConfig } from 'tsup';
import { driverBuild } from '../../tsup.shared.js';
import { TM_ACTIONS } from './src/actions-list.js';

const remotes = 'dist/remotes';

export default defineConfig(
  driverBuild({
    kind: 'TM',
    bundle: 'gfs2clvm-tm',
    actionDir: join(remotes, 'tm', 'gfs2clvm'),
    actions: TM_ACTIONS,
    // The driver configuration, where the installer puts it (`remotes/etc/tm/gfs2clvm/`).
    afterShims: async () => {
      const etc = join(remotes, 'etc', 'tm', 'gfs2clvm');
      await mkdir(etc, { recursive: true });
      await copyFile('assets/gfs2clvm.conf', join(etc, 'gfs2clvm.conf'));
    },
  }),
);
