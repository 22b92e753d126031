import { chmod, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineConfig } from 'tsup';
import { DS_ACTIONS } from './src/actions-list.js';

const actionDir = join('dist', 'remotes', 'datastore', 'gfs2clvm');
const bundleName = 'gfs2clvm-ds.mjs';

/**
 * One executable per action name, as one_datastore.rb runs them (`remotes/datastore/gfs2clvm/<action>`):
 * a shim that loads the one bundle next to it. Valid as CommonJS and as ESM (dynamic import only),
 * because an extension-less file's module type depends on the nearest package.json.
 */
function shim(action: string): string {
  return `#!/usr/bin/env node
// gfs2clvm DS action "${action}" (generated; the code is in ./${bundleName})
import('./${bundleName}').then(
  (driver) => driver.main(${JSON.stringify(action)}),
  (error) => {
    process.stderr.write('gfs2clvm ${action}: cannot load the driver: ' + String(error && error.message).split('\\n')[0] + '\\n');
    process.exit(1);
  },
);
`;
}

async function writeShims(): Promise<void> {
  // ssh2's optional native addons (built for this machine only): ssh2 falls back to Node's crypto.
  for (const file of await readdir(actionDir)) if (file.endsWith('.node')) await rm(join(actionDir, file));
  for (const action of DS_ACTIONS) {
    const file = join(actionDir, action);
    await writeFile(file, shim(action));
    await chmod(file, 0o755);
  }
}

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
  },
  {
    // Everything in one file: start-up time is paid on every action.
    entry: { 'gfs2clvm-ds': 'src/driver.ts' },
    outDir: actionDir,
    outExtension: () => ({ js: '.mjs' }),
    format: ['esm'],
    noExternal: [/.*/],
    shims: true,
    platform: 'node',
    target: 'node20',
    clean: true,
    sourcemap: false,
    minify: false,
    treeshake: true,
    splitting: false,
    // Bundled CommonJS dependencies (ssh2) call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __gfs2clvmCreateRequire } from 'node:module';\nconst require = __gfs2clvmCreateRequire(import.meta.url);",
    },
    onSuccess: writeShims,
  },
]);
