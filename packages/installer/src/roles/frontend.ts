import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBlocks, registerDriver } from '../edit/oned-conf.js';
import type { Item } from '../engine.js';
import { InstallerError } from '../errors.js';
import { FRONTEND_PATHS } from '../layout.js';
import { renderDriverConf } from '../render/driver-conf.js';

/**
 * The driver packages whose built action scripts the front-end role copies. Each ships its
 * scripts under `dist/remotes/<kind>/gfs2clvm/` (the layout of /var/lib/one/remotes).
 */
export const DRIVER_PACKAGES = [
  { name: '@one-gfs2clvm/one-tm', remotes: 'tm/gfs2clvm', target: FRONTEND_PATHS.tmDir },
  { name: '@one-gfs2clvm/one-image', remotes: 'datastore/gfs2clvm', target: FRONTEND_PATHS.dsDir },
] as const;

export interface FrontendOptions {
  /** Copy the action scripts (default); `false` only registers the driver and writes its config. */
  drivers: boolean;
  /** A directory laid out like /var/lib/one/remotes to take the scripts from, instead of the packages. */
  driversFrom?: string;
}

/** The installed package directory of `name`, looked up in node_modules from here upwards. */
function packageDir(name: string): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

async function remotesDir(driver: (typeof DRIVER_PACKAGES)[number], driversFrom?: string): Promise<string> {
  const dir = driversFrom
    ? join(driversFrom, driver.remotes)
    : (() => {
        const pkg = packageDir(driver.name);
        return pkg ? join(pkg, 'dist', 'remotes', driver.remotes) : undefined;
      })();
  if (dir === undefined || !existsSync(dir)) {
    throw new InstallerError(
      'DRIVER_NOT_BUILT',
      `driver package not built: ${driver.name} (no ${dir ?? `node_modules/${driver.name}`}); build it, or pass --no-drivers to only register the driver`,
    );
  }
  return dir;
}

async function driverItems(options: FrontendOptions): Promise<Item[]> {
  const items: Item[] = [];
  for (const driver of DRIVER_PACKAGES) {
    const dir = await remotesDir(driver, options.driversFrom);
    const names = (await readdir(dir)).sort();
    if (names.length === 0)
      throw new InstallerError('DRIVER_NOT_BUILT', `driver package not built: ${dir} is empty`);
    for (const name of names) {
      const source = join(dir, name);
      // Symlinked actions (ln → clone) are installed as copies: oned runs whatever is there.
      if (!(await stat(source)).isFile()) continue;
      items.push({
        kind: 'file',
        role: 'frontend',
        path: `${driver.target}/${name}`,
        content: await readFile(source, 'utf8'),
        mode: 0o755,
      });
    }
  }
  return items;
}

/** Everything `install --role frontend` lays down. */
export async function frontendItems(options: FrontendOptions): Promise<Item[]> {
  const items = options.drivers ? await driverItems(options) : [];
  items.push(
    {
      kind: 'file',
      role: 'frontend',
      path: FRONTEND_PATHS.driverConf,
      content: renderDriverConf(),
      mode: 0o644,
      keepExisting: true,
    },
    {
      kind: 'edit',
      role: 'frontend',
      path: FRONTEND_PATHS.onedConf,
      missing: 'is OpenNebula installed on this machine? (the front-end role runs where oned runs)',
      edit: (text) => {
        const result = registerDriver(text, undefined, FRONTEND_PATHS.onedConf);
        parseBlocks(result.content, FRONTEND_PATHS.onedConf);
        return result;
      },
    },
  );
  return items;
}

export const ONED_CONF_NOTE =
  'note: oned.conf changed; restart OpenNebula (systemctl restart opennebula) to load the driver';
