import { chmod, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Options } from 'tsup';

/** One driver of OpenNebula's remotes (`remotes/<tm|datastore>/gfs2clvm/`), as `driverBuild` makes it. */
export interface DriverBuild {
  /** `TM` or `DS`: the word in each shim's comment and load-failure line. */
  kind: string;
  /** The bundle's name without `.mjs` (`gfs2clvm-tm`): the driver, beside the chunks it imports on first use. */
  bundle: string;
  /** Where the bundle and the shims go (`dist/remotes/tm/gfs2clvm`). */
  actionDir: string;
  /** Every action name oned may run: one executable shim each. */
  actions: readonly string[];
  /** Runs after the shims are written (more files into `dist/remotes`). */
  afterShims?: () => Promise<void>;
}

/**
 * One executable per action name, as one_tm.rb / one_datastore.rb run them: a shim that loads the
 * one bundle next to it. It is valid as CommonJS and as ESM (dynamic import only), because an
 * extension-less file's module type depends on the nearest package.json.
 */
export function shim(kind: string, bundleName: string, action: string): string {
  return `#!/usr/bin/env node
// gfs2clvm ${kind} action "${action}" (generated; the code is in ./${bundleName})
import('./${bundleName}').then(
  (driver) => driver.main(${JSON.stringify(action)}),
  (error) => {
    process.stderr.write('gfs2clvm ${action}: cannot load the driver: ' + String(error && error.message).split('\\n')[0] + '\\n');
    process.exit(1);
  },
);
`;
}

async function writeShims(driver: DriverBuild): Promise<void> {
  // tsup copies ssh2's optional native addons (built for this machine only) next to the bundle.
  // ssh2 loads them inside try/catch and falls back to Node's crypto: drop them, stay portable.
  for (const file of await readdir(driver.actionDir))
    if (file.endsWith('.node')) await rm(join(driver.actionDir, file));
  for (const action of driver.actions) {
    const file = join(driver.actionDir, action);
    await writeFile(file, shim(driver.kind, `${driver.bundle}.mjs`, action));
    await chmod(file, 0o755);
  }
  await driver.afterShims?.();
}

/**
 * The build of a workspace library: ESM + `.d.ts` + source maps in `dist/`, dependencies external.
 * `bundled`: workspace packages not published (yet) whose code and types go into this `dist/`
 * (listed as dev dependencies, so the packed package.json does not ask a registry for them).
 */
export function libraryBuild(entry: string[] = ['src/index.ts'], bundled: string[] = []): Options {
  return {
    entry,
    format: ['esm'],
    dts: bundled.length === 0 ? true : { resolve: bundled },
    noExternal: bundled,
    clean: true,
    sourcemap: true,
    target: 'node20',
  };
}

/**
 * The tsup builds of a driver package: its library (`dist/index.js` + `.d.ts`) and its remotes
 * (`src/driver.ts` bundled with every dependency into one file, plus the action shims).
 */
export function driverBuild(driver: DriverBuild): Options[] {
  return [
    libraryBuild(),
    {
      // Start-up is paid on every action (oned runs one process per line), so an action loads only
      // what it uses: what the code imports on first use (ssh2's client at the first connection,
      // execa at the first local command) becomes a chunk of its own next to the bundle
      // (`client-<hash>.mjs`, `execa-<hash>.mjs`, `chunk-<hash>.mjs`); the installer copies them all.
      entry: { [driver.bundle]: 'src/driver.ts' },
      outDir: driver.actionDir,
      outExtension: () => ({ js: '.mjs' }),
      format: ['esm'],
      noExternal: [/.*/],
      // __dirname/__filename for bundled CommonJS code.
      shims: true,
      platform: 'node',
      target: 'node20',
      clean: true,
      sourcemap: false,
      minify: false,
      treeshake: true,
      splitting: true,
      // Bundled CommonJS dependencies (ssh2) call require() for Node built-ins.
      banner: {
        js: "import { createRequire as __gfs2clvmCreateRequire } from 'node:module';\nconst require = __gfs2clvmCreateRequire(import.meta.url);",
      },
      onSuccess: () => writeShims(driver),
    },
  ];
}
