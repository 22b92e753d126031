import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tools/testbed (the same from `src/` under vitest and from `dist/` after the build). */
export const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The repository's root: guests see it at the same path (tests run its files on the hosts). */
export const workspaceDir = resolve(packageDir, '..', '..');

/** Where a cluster keeps its state: `$TESTBED_DIR`, else `<repo>/.testbed` (gitignored). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TESTBED_DIR ?? join(packageDir, '..', '..', '.testbed'));
}

/** Files of one state folder. */
export function statePaths(dir: string) {
  return {
    dir,
    stateFile: join(dir, 'state.json'),
    lockFile: join(dir, 'lock'),
    identityFile: join(dir, 'id_ed25519'),
    knownHostsFile: join(dir, 'known_hosts'),
    corosyncConf: join(dir, 'corosync.conf'),
    stage2: join(dir, 'stage2.sh'),
    sanImage: join(dir, 'san.img'),
    plainImage: join(dir, 'plain.img'),
    linkSocket: join(dir, 'link.sock'),
    hubPidFile: join(dir, 'hub.pid'),
    hubLog: join(dir, 'hub.log'),
    hostDir: (name: string) => join(dir, 'hosts', name),
  };
}

export type StatePaths = ReturnType<typeof statePaths>;
