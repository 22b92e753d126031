import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_PATH } from './config.js';
import { installLastResort } from './last-resort.js';
import type { RunActionOptions } from './run-driver-action.js';

/** What `driverMain` gives the driver's `runAction`: the process's streams and the configuration file. */
type ProcessStreams = Pick<RunActionOptions, 'stdin' | 'stdout' | 'stderr' | 'configPath'>;

/**
 * The body of a bundled driver's `main('<action>')` (each action file is a shim calling it):
 * `runAction` on the process's argv and streams, then exit at once with its code — nothing must keep
 * an action alive after its answer. The configuration is `$GFS2CLVM_CONF`, else
 * `<remotes>/etc/tm/gfs2clvm/gfs2clvm.conf` next to the installed scripts; `bundleUrl` is the
 * bundle's `import.meta.url` (`remotes/<tm|datastore>/gfs2clvm/…`), which that path is relative to.
 */
export async function driverMain(
  action: string,
  runAction: (name: string, argv: readonly string[], options: ProcessStreams) => Promise<number>,
  bundleUrl: string,
): Promise<void> {
  installLastResort(action);
  const configPath = process.env.GFS2CLVM_CONF || defaultConfigPath(bundleUrl);
  const code = await runAction(action, process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    configPath,
  });
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

function defaultConfigPath(bundleUrl: string): string {
  try {
    return fileURLToPath(new URL('../../etc/tm/gfs2clvm/gfs2clvm.conf', bundleUrl));
  } catch {
    return DEFAULT_CONFIG_PATH;
  }
}
