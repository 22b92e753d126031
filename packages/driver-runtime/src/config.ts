import { readFileSync } from 'node:fs';
import { DriverError } from './errors.js';

/**
 * The driver configuration: `KEY=VALUE` lines in the style of fs_lvm.conf (read as data, never
 * sourced by a shell). `#` starts a comment line; values may be wrapped in single or double quotes.
 */
export interface DriverConfig {
  /** Where the system datastores are mounted on every host (oned's DATASTORE_LOCATION). */
  datastoreLocation: string;
  /** `helper` (default): `sudo -n /usr/local/sbin/one-gfs2clvm-helper`; `lvm`: plain LVM argv with `lvmPrefix`. */
  lvmBackend: 'helper' | 'lvm';
  /** Command prefix for the `lvm` back-end, e.g. `sudo -n lvm` (whitespace-separated argv). */
  lvmPrefix: string[];
  /** Prefix for data-path commands (dd, mkfs, mkswap) on hosts; empty: run as the SSH user. */
  dataPrefix: string[];
  /** `auto` or a fixed lock mode for every VG. */
  lockMode: 'auto' | 'lvmlockd' | 'clvmd' | 'none';
  /** Directory of the front-end lock files (lock mode `none`). */
  lockDir: string;
  lockTimeoutSeconds: number;
  sshUser: string;
  sshConfig: string | undefined;
  sshKnownHosts: string | undefined;
  sshIdentity: string[];
  sshHostKeyPolicy: 'strict' | 'accept-new' | 'insecure';
  sshConnectTimeoutSeconds: number;
  /** Host names in transfer lines that mean "the front-end" (besides this machine's own name). */
  frontendHosts: string[];
  /** Block size of copies (`dd bs=`), e.g. `4M`. */
  copyBlockSize: string;
  /** File systems mkimage may create. */
  supportedFs: string[];
  /** Log DEBUG: lines. */
  debug: boolean;
  /** OpenNebula's monitord.conf (`MONITORD_CONF`): where per-VM disk sizes are sent; absent: not sent. */
  monitordConf: string;
  /** Per-datastore defaults (each can be overridden by the datastore template attribute of that name). */
  storage: StorageSettings;
}

/** The settings a datastore template may override (storage decisions only; SSH and privileges are FE-wide). */
export interface StorageSettings {
  /** `VG_NAME`; empty: `vg-one-<datastore id>`. */
  vgName: string;
  /** `BRIDGE_LIST`: hosts that do LV work when the VM is on no host. */
  bridgeList: string[];
  zeroOnCreate: boolean;
  zeroOnDelete: boolean;
  /** `THIN_PROVISIONING`: new VM disks are thin LVs in a pool per VM (design §3); default thick. */
  thinProvisioning: boolean;
  /**
   * `URL_ALLOW_NETS`: networks (`10.1.0.0/16`, `fd00::/8`, a single address) a URL import may reach
   * although they are loopback, private, link-local … (internal mirrors); default none. Kept as
   * written here; one-image parses and checks them where a URL is fetched.
   */
  urlAllowNets: string[];
}

export const DEFAULT_CONFIG_PATH = '/var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf';

export const DEFAULTS: DriverConfig = {
  datastoreLocation: '/var/lib/one/datastores',
  lvmBackend: 'helper',
  lvmPrefix: ['sudo', '-n', 'lvm'],
  dataPrefix: [],
  lockMode: 'auto',
  lockDir: '/var/lock/one',
  lockTimeoutSeconds: 120,
  sshUser: 'oneadmin',
  sshConfig: undefined,
  sshKnownHosts: undefined,
  sshIdentity: [],
  sshHostKeyPolicy: 'strict',
  sshConnectTimeoutSeconds: 20,
  frontendHosts: [],
  copyBlockSize: '4M',
  supportedFs: ['ext2', 'ext3', 'ext4', 'xfs'],
  debug: false,
  monitordConf: '/etc/one/monitord.conf',
  storage: {
    vgName: '',
    bridgeList: [],
    zeroOnCreate: true,
    zeroOnDelete: true,
    thinProvisioning: false,
    urlAllowNets: [],
  },
};

const KEY = /^[A-Z][A-Z0-9_]*$/;

/** Parses the `KEY=VALUE` text; throws `CONFIG` naming the line of anything else. */
export function parseConfigText(text: string, source = 'gfs2clvm.conf'): Map<string, string> {
  const values = new Map<string, string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(0, eq).trim();
    if (!KEY.test(key)) throw new DriverError('CONFIG', `${source} line ${index + 1}: not KEY=VALUE`);
    values.set(key, unquote(line.slice(eq + 1).trim(), source, index + 1));
  });
  return values;
}

function unquote(value: string, source: string, line: number): string {
  const first = value[0];
  if (first === '"' || first === "'") {
    if (value.length < 2 || value[value.length - 1] !== first)
      throw new DriverError('CONFIG', `${source} line ${line}: unbalanced quotes`);
    return value.slice(1, -1);
  }
  return value;
}

const words = (value: string) => value.split(/[\s,]+/).filter((w) => w !== '');

function yesNo(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (['yes', 'true', '1', 'on'].includes(v)) return true;
  if (['no', 'false', '0', 'off'].includes(v)) return false;
  throw new DriverError('CONFIG', `${key}=${value}: not yes or no`);
}

function oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new DriverError('CONFIG', `${key}=${value}: not one of ${allowed.join(', ')}`);
}

function positive(key: string, value: string): number {
  const n = Number(value);
  if (!/^[1-9][0-9]{0,6}$/.test(value))
    throw new DriverError('CONFIG', `${key}=${value}: not a positive integer`);
  return n;
}

function absolute(key: string, value: string): string {
  if (!value.startsWith('/')) throw new DriverError('CONFIG', `${key}=${value}: not an absolute path`);
  return value;
}

/** Builds the configuration from parsed values over the defaults. Unknown keys are refused (typos). */
export function configFromValues(values: Map<string, string>): DriverConfig {
  const config: DriverConfig = structuredClone(DEFAULTS);
  for (const [key, value] of values) {
    switch (key) {
      case 'DATASTORE_LOCATION':
        config.datastoreLocation = absolute(key, value);
        break;
      case 'LVM_BACKEND':
        config.lvmBackend = oneOf(key, value, ['helper', 'lvm'] as const);
        break;
      case 'LVM_PREFIX':
        config.lvmPrefix = words(value);
        if (config.lvmPrefix.length === 0) throw new DriverError('CONFIG', 'LVM_PREFIX is empty');
        break;
      case 'DATA_PREFIX':
        config.dataPrefix = words(value);
        break;
      case 'LOCK_MODE':
        config.lockMode = oneOf(key, value, ['auto', 'lvmlockd', 'clvmd', 'none'] as const);
        break;
      case 'LOCK_DIR':
        config.lockDir = absolute(key, value);
        break;
      case 'LOCK_TIMEOUT':
        config.lockTimeoutSeconds = positive(key, value);
        break;
      case 'SSH_USER':
        if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(value))
          throw new DriverError('CONFIG', `SSH_USER=${value}: not a user name`);
        config.sshUser = value;
        break;
      case 'SSH_CONFIG':
        config.sshConfig = absolute(key, value);
        break;
      case 'SSH_KNOWN_HOSTS':
        config.sshKnownHosts = absolute(key, value);
        break;
      case 'SSH_IDENTITY':
        config.sshIdentity = words(value).map((v) => absolute(key, v));
        break;
      case 'SSH_HOST_KEY_POLICY':
        config.sshHostKeyPolicy = oneOf(key, value, ['strict', 'accept-new', 'insecure'] as const);
        break;
      case 'SSH_CONNECT_TIMEOUT':
        config.sshConnectTimeoutSeconds = positive(key, value);
        break;
      case 'FRONTEND_HOSTS':
        config.frontendHosts = words(value);
        break;
      case 'COPY_BLOCK_SIZE':
        if (!/^[1-9][0-9]{0,3}[KM]?$/.test(value))
          throw new DriverError('CONFIG', `${key}=${value}: not a dd block size`);
        config.copyBlockSize = value;
        break;
      case 'SUPPORTED_FS':
        config.supportedFs = words(value);
        break;
      case 'DEBUG':
        config.debug = yesNo(key, value);
        break;
      case 'MONITORD_CONF':
        config.monitordConf = absolute(key, value);
        break;
      default:
        if (!applyStorage(config.storage, key, value))
          throw new DriverError('CONFIG', `unknown setting ${key} in the driver configuration`);
    }
  }
  return config;
}

/** Applies one storage key; `false` if `key` is not a storage setting. */
function applyStorage(storage: StorageSettings, key: string, value: string): boolean {
  switch (key) {
    case 'VG_NAME':
      storage.vgName = value;
      return true;
    case 'BRIDGE_LIST':
      storage.bridgeList = words(value);
      return true;
    case 'ZERO_ON_CREATE':
      storage.zeroOnCreate = yesNo(key, value);
      return true;
    case 'ZERO_ON_DELETE':
      storage.zeroOnDelete = yesNo(key, value);
      return true;
    case 'THIN_PROVISIONING':
      storage.thinProvisioning = yesNo(key, value);
      return true;
    case 'URL_ALLOW_NETS':
      storage.urlAllowNets = words(value);
      return true;
    default:
      return false;
  }
}

/** The storage settings of one datastore: its template attributes of the same names win. */
export function storageFor(
  config: DriverConfig,
  template: Readonly<Record<string, string>>,
): StorageSettings {
  const storage = {
    ...config.storage,
    bridgeList: [...config.storage.bridgeList],
    urlAllowNets: [...config.storage.urlAllowNets],
  };
  const keys = [
    'VG_NAME',
    'BRIDGE_LIST',
    'ZERO_ON_CREATE',
    'ZERO_ON_DELETE',
    'THIN_PROVISIONING',
    'URL_ALLOW_NETS',
  ];
  for (const key of keys) {
    const value = template[key];
    if (value !== undefined && value.trim() !== '') applyStorage(storage, key, value.trim());
  }
  return storage;
}

/** Reads the configuration file; a missing file means the defaults. */
export function loadConfig(path: string): DriverConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(DEFAULTS);
    throw new DriverError('CONFIG', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return configFromValues(parseConfigText(text, path));
}
