import { existsSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineConfig } from 'tsup';
import { DRIVER_PACKAGES } from './src/roles/frontend.js';

/**
 * The published CLI carries the drivers it installs: the driver packages are not published on
 * their own, so their built `dist/remotes/` trees (action shims, bundle, config) are copied into
 * this package's `dist/remotes/` (modes kept), where `install --role frontend` finds them.
 * Every driver package this package depends on must be built first (turbo's ^build does it).
 */
async function carryDriverRemotes(): Promise<void> {
  const manifest = JSON.parse(await readFile('package.json', 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  for (const driver of DRIVER_PACKAGES) {
    if (!manifest.devDependencies?.[driver.name]) {
      console.warn(`one-gfs2clvm build: ${driver.name} is not a dependency yet; not carried`);
      continue;
    }
    const built = join('node_modules', driver.name, 'dist', 'remotes');
    for (const part of [driver.remotes, ...(driver.config ? [driver.config] : [])]) {
      if (!existsSync(join(built, part)))
        throw new Error(`one-gfs2clvm build: ${driver.name} is not built (no ${join(built, part)})`);
      await cp(join(built, part), join('dist', 'remotes', part), { recursive: true });
    }
  }
}

export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // The workspace libraries are not published on their own yet: bundle their code; their
  // dependencies (ssh2, ssh-config, execa, p-limit) are this package's dependencies.
  noExternal: ['@one-gfs2clvm/errors', '@one-gfs2clvm/ssh-remote', '@one-gfs2clvm/lvm'],
  onSuccess: carryDriverRemotes,
});
