import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_PATH, installLastResort } from '@one-gfs2clvm/driver-runtime';
import { runAction } from './dispatch.js';

/**
 * Entry point of the bundled driver (`remotes/datastore/gfs2clvm/gfs2clvm-ds.mjs`): each action
 * file is a shim calling `main('<action>')`. The configuration is the TM driver's:
 * `$GFS2CLVM_CONF`, else `<remotes>/etc/tm/gfs2clvm/gfs2clvm.conf` next to the installed scripts.
 */
export async function main(action: string): Promise<void> {
  installLastResort(action);
  const configPath = process.env.GFS2CLVM_CONF || defaultConfigPath();
  const code = await runAction(action, process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    configPath,
  });
  // Exit at once: nothing must keep an action alive after its answer.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

function defaultConfigPath(): string {
  try {
    return fileURLToPath(new URL('../../etc/tm/gfs2clvm/gfs2clvm.conf', import.meta.url));
  } catch {
    return DEFAULT_CONFIG_PATH;
  }
}
