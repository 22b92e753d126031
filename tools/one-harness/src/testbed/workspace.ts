import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The monorepo this module is built in (the folder with pnpm-workspace.yaml above it): the drivers'
 * built remotes and the installer are read from there, as the work tree has them.
 */
export function workspaceRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no pnpm-workspace.yaml above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** The driver packages whose built remotes a front-end lays out, and the bundle each build writes last. */
export const DRIVER_PACKAGES = {
  'one-tm': join('tm', 'gfs2clvm', 'gfs2clvm-tm.mjs'),
  'one-image': join('datastore', 'gfs2clvm', 'gfs2clvm-ds.mjs'),
} as const;

export type DriverPackage = keyof typeof DRIVER_PACKAGES;

/** `packages/<pkg>/dist/remotes` of this work tree (tests run what gets installed). */
export function builtRemotes(pkg: DriverPackage): string {
  return join(workspaceRoot(), 'packages', pkg, 'dist', 'remotes');
}

/**
 * Waits for the built remotes of `pkg`: a rebuild by someone else sharing the work tree (tsup
 * empties dist/ first) is waited for, up to two minutes.
 */
export async function waitForBuild(pkg: DriverPackage): Promise<string> {
  const remotes = builtRemotes(pkg);
  for (let waited = 0; !existsSync(join(remotes, DRIVER_PACKAGES[pkg])); waited += 2) {
    if (waited >= 120)
      throw new Error(`${remotes} is not built: run pnpm --filter @one-gfs2clvm/${pkg} build`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  return remotes;
}
