import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster, writeSshConfig } from '@one-gfs2clvm/testbed';
import { DsDriver } from '../ds.js';
import {
  createFakeOned,
  datastoreXml,
  type FakeOned,
  hostPoolXml,
  vmXml as onedVmXml,
  type VmDisk,
} from '../fake-oned.js';
import { base64 } from '../ruby.js';
import { TmDriver } from '../tm.js';
import { ensureDatastoreDirs, ensureHostRole } from './host-role.js';
import { type DriverPackage, waitForBuild } from './workspace.js';

export const MiB = 2 ** 20;
/** The testbed's system datastore (shared, TM_MAD gfs2clvm) and image datastore (DS_MAD gfs2clvm). */
export const SYS_DS = 100;
export const IMG_DS = 101;
/** The shared VG of the testbed (lvmlockd + sanlock), VG of both datastores. */
export const VG = 'vg-one-100';
/** The datastores' path as oned writes it in transfer lines (BASE_PATH with its double slash). */
export const DL = '/var/lib/one//datastores';

/** The image datastore's template, as `onedatastore create` stamps it for gfs2clvm. */
export const IMG_DS_TEMPLATE: Readonly<Record<string, string>> = {
  DS_MAD: 'gfs2clvm',
  TM_MAD: 'gfs2clvm',
  TYPE: 'IMAGE_DS',
  VG_NAME: VG,
  DISK_TYPE: 'BLOCK',
  DRIVER: 'raw',
};

/** A `<VM>` document in oned's shape (one-harness's `vmXml`): image disks in IMG_DS, the rest in SYS_DS. */
export function vmXml(
  id: number,
  host: string,
  disks: VmDisk[],
  lcmState = 3,
  extra: { deployId?: string; fsFreeze?: string } = {},
): string {
  return onedVmXml({ id, host, disks, systemDs: SYS_DS, imageDs: IMG_DS, lcmState, ...extra });
}

export interface FrontEndOptions {
  /** Another cluster than the shared one (a suite that breaks hosts boots its own). Default: `attach()`. */
  cluster?: Cluster;
  /** The drivers laid out under `remotes/` (their built `dist/remotes`). Default: both. */
  drivers?: DriverPackage[];
  /** The hosts in the SSH config and in `onehost list`. Default: every host of the cluster. */
  hosts?: string[];
  /**
   * Run the drivers as `root` with plain LVM (`LVM_BACKEND=lvm`) instead of the production way
   * (`oneadmin`, the host helper through sudo, LVs owned by oneadmin through the udev rule, the
   * installer's host role laid down first). Only for a caller that genuinely needs root; say why.
   */
  asRoot?: boolean;
  /** Extra system datastores (id → template); their directories are the caller's business (`ensureDatastoreDirs`). */
  datastores?: Record<number, Record<string, string>>;
  /** More `KEY=VALUE` lines for gfs2clvm.conf. */
  config?: string[];
  /** Text appended to the SSH config (more `Host` blocks). */
  extraSshConfig?: string;
  /** The drivers' SSH_CONNECT_TIMEOUT; a loaded machine (TCG guests) was seen to need more than 10 s. Default 30. */
  connectTimeout?: number;
  /** `DEBUG=yes` in gfs2clvm.conf (the drivers' DEBUG: lines on stderr). Default true. */
  debug?: boolean;
  /** Actions the one_tm.rb stand-in runs at once (`-t`). Default: one_tm.rb's 15. */
  tmConcurrency?: number;
}

/**
 * The front-end side of the testbed, as `oned` would have it: the BUILT action scripts laid out like
 * `/var/lib/one/remotes`, the drivers' configuration and SSH config, `one_tm.rb` and
 * `one_datastore.rb` stand-ins and oned's CLI faked for the drivers' callbacks (`onevm show -x` …).
 */
export interface FrontEnd {
  cluster: Cluster;
  /** The SSH user the drivers run as: `oneadmin` (host helper), or `root` (plain LVM) with `asRoot`. */
  user: 'oneadmin' | 'root';
  /** The temporary folder everything is in (the scripts' working directory). */
  dir: string;
  remotesDir: string;
  /** gfs2clvm.conf. */
  confFile: string;
  /** The environment the scripts run with: oned's fake CLI first on PATH, GFS2CLVM_CONF. */
  env: NodeJS.ProcessEnv;
  oned: FakeOned;
  tm: TmDriver;
  /** one_datastore.rb stand-in: image actions, and system-DS MONITOR to tm/gfs2clvm/monitor. */
  ds: DsDriver;
  /** The same with the ≤ 6.6 argv payload form. */
  dsArgv: DsDriver;
  root: (host: string) => Runner;
  /** Writes the answer of `onevm show -x <id>`. */
  setVm: (id: number, xml: string) => Promise<void>;
  /** Writes the answer of `oneuser show -x <id>`. */
  setUser: (id: number, xml: string) => Promise<void>;
  vmB64: (xml: string) => string;
  /** Removes the folder. */
  remove: () => Promise<void>;
}

function configLines(dir: string, knownHosts: string, options: FrontEndOptions): string[] {
  return [
    ...(options.asRoot
      ? ['# testbed: root over SSH with plain LVM', 'SSH_USER=root', 'LVM_BACKEND=lvm', 'LVM_PREFIX=lvm']
      : [
          '# testbed: as production: oneadmin, the host helper through sudo, unprivileged data path',
          'SSH_USER=oneadmin',
        ]),
    `SSH_CONFIG=${join(dir, 'ssh_config')}`,
    `SSH_KNOWN_HOSTS=${knownHosts}`,
    'FRONTEND_HOSTS=fe',
    `SSH_CONNECT_TIMEOUT=${options.connectTimeout ?? 30}`,
    `LOCK_DIR=${join(dir, 'lock')}`,
    ...(options.debug === false ? [] : ['DEBUG=yes']),
    ...(options.config ?? []),
    '',
  ];
}

async function fakeOned(dir: string, hosts: string[], options: FrontEndOptions): Promise<FakeOned> {
  const oned = await createFakeOned(join(dir, 'one'));
  const sys = { SHARED: 'YES', TM_MAD: 'gfs2clvm' };
  await oned.setDatastore(SYS_DS, datastoreXml({ id: SYS_DS, type: 1, template: sys }));
  await oned.setDatastore(
    IMG_DS,
    datastoreXml({ id: IMG_DS, type: 0, dsMad: 'gfs2clvm', template: { ...IMG_DS_TEMPLATE } }),
  );
  for (const [id, template] of Object.entries(options.datastores ?? {}))
    await oned.setDatastore(Number(id), datastoreXml({ id: Number(id), type: 1, template }));
  await oned.setHosts(hostPoolXml(hosts));
  return oned;
}

/** A private copy of the built scripts: a rebuild of dist/ by someone else (tsup empties it first) cannot pull them away from under a run. */
async function layOutRemotes(dir: string, drivers: DriverPackage[]): Promise<string> {
  const remotesDir = join(dir, 'remotes');
  for (const pkg of drivers) await cp(await waitForBuild(pkg), remotesDir, { recursive: true });
  return remotesDir;
}

async function drivers(remotesDir: string, dir: string, env: NodeJS.ProcessEnv, options: FrontEndOptions) {
  const tm = new TmDriver({
    remotesDir,
    drivers: ['gfs2clvm'],
    cwd: dir,
    env,
    concurrency: options.tmConcurrency,
  });
  const dsOptions = {
    remotesDir,
    drivers: (options.drivers ?? ['one-tm', 'one-image']).includes('one-image') ? ['gfs2clvm'] : [],
    systemDrivers: ['gfs2clvm'],
    cwd: dir,
    env,
    timeoutSeconds: 300,
  };
  const ds = new DsDriver(dsOptions);
  const dsArgv = new DsDriver({ ...dsOptions, payload: 'argv' });
  for (const d of [tm, ds, dsArgv]) await d.init();
  return { tm, ds, dsArgv };
}

/**
 * Attaches to the testbed (or takes `options.cluster`) and lays out the front-end in a fresh
 * temporary folder. The drivers run as production runs them unless `asRoot`: as `oneadmin`, LVM
 * through the host helper, data path unprivileged; the installer's host role is laid down on every
 * host first (once; later runs find it in place). The system and image datastores' directories
 * are made, owned by oneadmin.
 */
export async function setUpFrontEnd(options: FrontEndOptions = {}): Promise<FrontEnd> {
  const cluster = options.cluster ?? (await attach());
  const user = options.asRoot ? 'root' : 'oneadmin';
  if (!options.asRoot) await ensureHostRole(cluster);
  await ensureDatastoreDirs(cluster, [SYS_DS, IMG_DS]);
  const names = options.hosts ?? cluster.hosts.map((h) => h.name);
  const hosts = names.map((name) => cluster.host(name));
  const first = hosts[0];
  if (!first) throw new Error('testbed has no hosts');
  const dir = await mkdtemp(join(tmpdir(), 'one-gfs2clvm-fe-'));
  try {
    await writeSshConfig({ hosts }, join(dir, 'ssh_config'), { user, extra: options.extraSshConfig });
    const confFile = join(dir, 'gfs2clvm.conf');
    await writeFile(confFile, configLines(dir, first.knownHostsFile, options).join('\n'));
    const oned = await fakeOned(dir, names, options);
    const env = { ...process.env, ...oned.env, GFS2CLVM_CONF: confFile };
    const remotesDir = await layOutRemotes(dir, options.drivers ?? ['one-tm', 'one-image']);
    return {
      cluster,
      user,
      dir,
      remotesDir,
      confFile,
      env,
      oned,
      ...(await drivers(remotesDir, dir, env, options)),
      root: (host) => cluster.host(host).runner('root'),
      setVm: (id, xml) => oned.setVm(id, xml),
      setUser: (id, xml) => oned.setUser(id, xml),
      vmB64: (xml) => base64(xml),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
