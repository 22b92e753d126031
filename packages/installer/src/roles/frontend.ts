import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBlocks, registerDriver } from '../edit/oned-conf.js';
import { enableLiveSnapshots } from '../edit/vmm-execrc.js';
import type { Item, OwnedFile } from '../engine.js';
import { InstallerError } from '../errors.js';
import { FRONTEND_PATHS } from '../layout.js';

/**
 * The driver packages whose built files the front-end role copies. Each builds the layout of
 * /var/lib/one/remotes under `dist/remotes/`: the TM actions in `tm/gfs2clvm/` with the driver's
 * configuration in `etc/tm/gfs2clvm/gfs2clvm.conf`, the DS actions in `datastore/gfs2clvm/`.
 */
export const DRIVER_PACKAGES: readonly DriverPackage[] = [
  {
    name: '@one-gfs2clvm/one-tm',
    remotes: 'tm/gfs2clvm',
    target: FRONTEND_PATHS.tmDir,
    config: 'etc/tm/gfs2clvm/gfs2clvm.conf',
  },
  { name: '@one-gfs2clvm/one-image', remotes: 'datastore/gfs2clvm', target: FRONTEND_PATHS.dsDir },
];

export interface DriverPackage {
  name: string;
  /** The actions' directory under `remotes/`. */
  remotes: string;
  /** Where they go on the front-end. */
  target: string;
  /** The driver's configuration file under `remotes/`, installed to FRONTEND_PATHS.driverConf. */
  config?: string;
}

export interface FrontendOptions {
  /** Copy the action scripts and the config (default); `false` only registers the driver in oned.conf. */
  drivers: boolean;
  /** A directory laid out like /var/lib/one/remotes to take the files from, instead of the packages. */
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

/**
 * The copy of the drivers' `remotes/` this package carries (`dist/remotes/`, made by its build
 * from the driver packages' builds): what the published CLI installs, as the driver packages are
 * not published on their own.
 */
function carriedRemotes(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const remotes = join(dir, 'dist', 'remotes');
      return existsSync(remotes) ? remotes : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The `remotes/` directory to copy a driver from, never guessed: `--drivers-from`, else the driver
 * package's own build (in the workspace), else the copy carried in this package (published CLI).
 */
function remotesRoot(driver: DriverPackage, driversFrom?: string): string {
  const pkg = driversFrom ? undefined : packageDir(driver.name);
  const built = pkg ? join(pkg, 'dist', 'remotes') : undefined;
  const carried = driversFrom ? undefined : carriedRemotes();
  const root =
    driversFrom ??
    (built && existsSync(join(built, driver.remotes)) ? built : undefined) ??
    (carried && existsSync(join(carried, driver.remotes)) ? carried : undefined) ??
    built;
  if (root === undefined || !existsSync(join(root, driver.remotes))) {
    const where = root ? join(root, driver.remotes) : `node_modules/${driver.name}`;
    throw new InstallerError(
      'DRIVER_NOT_BUILT',
      `driver package not built: ${driver.name} (no ${where}); build it, or pass --no-drivers to only register the driver`,
    );
  }
  return root;
}

async function fileItem(source: string, path: string): Promise<OwnedFile> {
  // Scripts (the action shims, `#!` first) are installed executable, the rest (the bundle they
  // load, the config) plain. Judged by content, not by the source's mode: packing the published
  // CLI (pnpm pack) drops the executable bits of every file that is not its `bin`.
  const content = await readFile(source, 'utf8');
  return { kind: 'file', role: 'frontend', path, content, mode: content.startsWith('#!') ? 0o755 : 0o644 };
}

async function driverItems(options: FrontendOptions): Promise<Item[]> {
  const items: Item[] = [];
  for (const driver of DRIVER_PACKAGES) {
    const root = remotesRoot(driver, options.driversFrom);
    const dir = join(root, driver.remotes);
    const names = (await readdir(dir)).sort();
    if (names.length === 0)
      throw new InstallerError('DRIVER_NOT_BUILT', `driver package not built: ${dir} is empty`);
    for (const name of names) {
      const source = join(dir, name);
      if ((await stat(source)).isFile()) items.push(await fileItem(source, `${driver.target}/${name}`));
    }
    const config = driver.config ? join(root, driver.config) : undefined;
    if (config && existsSync(config)) {
      // The admin's own settings win: an existing config is kept, and so are later edits.
      items.push({ ...(await fileItem(config, FRONTEND_PATHS.driverConf)), mode: 0o644, keepExisting: true });
    }
  }
  return items;
}

/** Everything `install --role frontend` lays down. */
export async function frontendItems(options: FrontendOptions): Promise<Item[]> {
  const items = options.drivers ? await driverItems(options) : [];
  items.push({
    kind: 'edit',
    role: 'frontend',
    path: FRONTEND_PATHS.onedConf,
    missing: 'is OpenNebula installed on this machine? (the front-end role runs where oned runs)',
    edit: (text) => {
      const result = registerDriver(text, undefined, FRONTEND_PATHS.onedConf);
      parseBlocks(result.content, FRONTEND_PATHS.onedConf);
      return result;
    },
  });
  items.push({
    kind: 'edit',
    role: 'frontend',
    path: FRONTEND_PATHS.vmmExecrc,
    missing: 'live disk snapshots (snap_create_live) stay refused by oned',
    optional: true,
    edit: (text) => enableLiveSnapshots(text, FRONTEND_PATHS.vmmExecrc),
  });
  return items;
}

/**
 * The action directories an install fills completely: on a reinstall, a file a newer driver no
 * longer builds is removed there. None with `--no-drivers` (it installs no action files).
 */
export function frontendOwnedDirs(options: FrontendOptions): string[] {
  return options.drivers ? DRIVER_PACKAGES.map((driver) => driver.target) : [];
}

export const VMM_EXECRC_NOTE =
  'note: vmm_execrc changed; restart OpenNebula (systemctl restart opennebula) to allow live disk snapshots';

export const ONED_CONF_NOTE =
  'note: oned.conf changed; restart OpenNebula (systemctl restart opennebula) to load the driver';
