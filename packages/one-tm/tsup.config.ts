import { chmod, copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineConfig } from 'tsup';
import { TM_ACTIONS } from './src/actions-list.js';

const remotes = 'dist/remotes';
const actionDir = join(remotes, 'tm', 'gfs2clvm');
const bundleName = 'gfs2clvm-tm.mjs';

/**
 * One executable per action name, as one_tm.rb runs them (`remotes/tm/gfs2clvm/<action>`): a shim
 * that loads the one bundle next to it. It is valid as CommonJS and as ESM (dynamic import only),
 * because an extension-less file's module type depends on the nearest package.json.
 */
function shim(action: string): string {
  return `#!/usr/bin/env node
// gfs2clvm TM action "${action}" (generated; the code is in ./${bundleName})
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
  // tsup copies ssh2's optional native addons (built for this machine only) next to the bundle.
  // ssh2 loads them inside try/catch and falls back to Node's crypto: drop them, stay portable.
  for (const file of await readdir(actionDir)) if (file.endsWith('.node')) await rm(join(actionDir, file));
  for (const action of TM_ACTIONS) {
    const file = join(actionDir, action);
    await writeFile(file, shim(action));
    await chmod(file, 0o755);
  }
  const etc = join(remotes, 'etc', 'tm', 'gfs2clvm');
  await mkdir(etc, { recursive: true });
  await copyFile('assets/gfs2clvm.conf', join(etc, 'gfs2clvm.conf'));
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
    // Everything in one file: start-up time is paid on every action (oned runs one process per line).
    entry: { 'gfs2clvm-tm': 'src/driver.ts' },
    outDir: actionDir,
    outExtension: () => ({ js: '.mjs' }),
    format: ['esm'],
    noExternal: [/.*/],
    // ssh2's optional native crypto (built for this machine only): its require() is in a try/catch and
    // falls back to Node's own crypto, so the bundle stays portable.
    // __dirname/__filename for bundled CommonJS code.
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
