import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  base64,
  createFakeOned,
  DsDriver,
  datastoreXml,
  vmXml as harnessVmXml,
  hostPoolXml,
  TmDriver,
  type VmDisk,
} from '@one-gfs2clvm/one-harness';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster, writeSshConfig } from '@one-gfs2clvm/testbed';

/** The built driver, laid out as `<remotes>/tm/gfs2clvm/<action>` (tests run what gets installed). */
export const REMOTES = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'remotes');

const INSTALLER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'installer');
const HELPER = '/usr/local/sbin/one-gfs2clvm-helper';
const HOST_ROLE_FILES = [HELPER, '/etc/sudoers.d/one-gfs2clvm', '/etc/udev/rules.d/90-one-gfs2clvm.rules'];
const run = promisify(execFile);

export const MiB = 2 ** 20;
export const SYS_DS = 100;
export const IMG_DS = 101;
export const VG = 'vg-one-100';

/** A `<VM>` document in oned's shape (one-harness's `vmXml`): image disks in IMG_DS, the rest in SYS_DS. */
export function vmXml(id: number, host: string, disks: VmDisk[], lcmState = 3): string {
  return harnessVmXml({ id, host, disks, systemDs: SYS_DS, imageDs: IMG_DS, lcmState });
}

export interface Env {
  cluster: Cluster;
  /** The SSH user the driver runs as: `oneadmin` (host helper), or `root` (plain LVM) with `asRoot`. */
  user: 'oneadmin' | 'root';
  dir: string;
  tm: TmDriver;
  /** one_datastore.rb stand-in: system-DS MONITOR goes to tm/gfs2clvm/monitor. */
  ds: DsDriver;
  root: (host: string) => Runner;
  /** Writes the answer of `onevm show -x <id>`. */
  setVm: (id: number, xml: string) => Promise<void>;
  vmB64: (xml: string) => string;
}

export interface EnvOptions {
  extraSshConfig?: string;
  /** Extra system datastores (id → template); their directories are the suite's business (`ensureDatastoreDirs`). */
  datastores?: Record<number, Record<string, string>>;
  /**
   * Run the driver as `root` with plain LVM (`LVM_BACKEND=lvm`) instead of the production way
   * (`oneadmin`, the host helper through sudo, LVs owned by oneadmin through the udev rule). Only
   * for a suite that genuinely needs root; it must say why.
   */
  asRoot?: boolean;
  /** Another cluster than the shared one (a suite that breaks hosts boots its own). */
  cluster?: Cluster;
  /** More `KEY=VALUE` lines for gfs2clvm.conf. */
  config?: string[];
}

/**
 * Attaches to the testbed and lays out the front-end side: driver config, SSH config, fake CLI.
 * The driver runs as production runs it: as `oneadmin`, LVM through the host helper
 * (`LVM_BACKEND=helper`), data path unprivileged (`DATA_PREFIX` empty). The host role of the
 * installer is laid down on every host first (once; later suites find it in place).
 */
export async function setUpEnv(options: EnvOptions = {}): Promise<Env> {
  await waitForBuild();
  const cluster = options.cluster ?? (await attach());
  const user = options.asRoot ? 'root' : 'oneadmin';
  if (!options.asRoot) await ensureHostRole(cluster);
  await ensureDatastoreDirs(cluster, [SYS_DS, IMG_DS]);
  const dir = await mkdtemp(join(tmpdir(), 'one-tm-e2e-'));
  const first = cluster.hosts[0];
  if (!first) throw new Error('testbed has no hosts');

  await writeSshConfig(cluster, join(dir, 'ssh_config'), { user, extra: options.extraSshConfig });
  await writeFile(
    join(dir, 'gfs2clvm.conf'),
    [
      ...(options.asRoot
        ? ['# testbed: root over SSH with plain LVM', 'SSH_USER=root', 'LVM_BACKEND=lvm', 'LVM_PREFIX=lvm']
        : [
            '# testbed: as production: oneadmin, the host helper through sudo, unprivileged data path',
            'SSH_USER=oneadmin',
          ]),
      `SSH_CONFIG=${join(dir, 'ssh_config')}`,
      `SSH_KNOWN_HOSTS=${first.knownHostsFile}`,
      'FRONTEND_HOSTS=fe',
      // A loaded machine (several suites, TCG guests) was seen to need more than 10 s for a handshake.
      'SSH_CONNECT_TIMEOUT=30',
      `LOCK_DIR=${join(dir, 'lock')}`,
      'DEBUG=yes',
      ...(options.config ?? []),
      '',
    ].join('\n'),
  );
  const oned = await createFakeOned(join(dir, 'one'));
  await oned.setDatastore(
    SYS_DS,
    datastoreXml({ id: SYS_DS, type: 1, template: { SHARED: 'YES', TM_MAD: 'gfs2clvm' } }),
  );
  await oned.setDatastore(IMG_DS, datastoreXml({ id: IMG_DS, type: 0, template: { TM_MAD: 'gfs2clvm' } }));
  for (const [id, template] of Object.entries(options.datastores ?? {}))
    await oned.setDatastore(Number(id), datastoreXml({ id: Number(id), type: 1, template }));
  await oned.setHosts(hostPoolXml(cluster.hosts.map((h) => h.name)));

  const env = { ...process.env, ...oned.env, GFS2CLVM_CONF: join(dir, 'gfs2clvm.conf') };
  // A private copy of the built scripts: a rebuild of dist/ by someone else (tsup empties it first)
  // cannot pull them away from under a running suite.
  const remotes = join(dir, 'remotes');
  await cp(REMOTES, remotes, { recursive: true });
  const tm = new TmDriver({ remotesDir: remotes, drivers: ['gfs2clvm'], cwd: dir, env });
  await tm.init();
  const ds = new DsDriver({
    remotesDir: remotes,
    drivers: [],
    systemDrivers: ['gfs2clvm'],
    cwd: dir,
    env,
    timeoutSeconds: 300,
  });
  await ds.init();
  return {
    cluster,
    user,
    dir,
    tm,
    ds,
    root: (host) => cluster.host(host).runner('root'),
    setVm: (id, xml) => oned.setVm(id, xml),
    vmB64: (xml) => base64(xml),
  };
}

/**
 * The installer's host role (helper, allow-list, sudoers, udev rule, …) on every host of `cluster`,
 * pushed from this machine the production way (`install --role host --ssh`: the CLI and the helper
 * asset are read here, so the guests' 9p cache cannot serve a stale copy). One quick look per host
 * first: when the helper there is the packaged one and sudoers and the udev rule are in place,
 * nothing runs (suites and engineers share the cluster). The install itself is idempotent and
 * serialised by flock(1) on the cluster's state folder.
 */
export async function ensureHostRole(cluster: Cluster): Promise<void> {
  const asset = readFileSync(join(INSTALLER, 'assets', 'one-gfs2clvm-helper'));
  const want = createHash('sha256').update(asset).digest('hex');
  const stale: string[] = [];
  for (const host of cluster.hosts) {
    const r = await host
      .runner('root')
      .run(['sh', '-c', 'sha256sum <"$1" && shift && ls -- "$@" >/dev/null', 'look', ...HOST_ROLE_FILES], {
        reject: false,
        timeoutMs: 60_000,
      });
    if (r.exitCode !== 0 || r.stdout.split(' ')[0] !== want) stale.push(host.name);
  }
  if (stale.length === 0) return;
  const cli = join(INSTALLER, 'bin', 'one-gfs2clvm.js');
  if (!existsSync(join(INSTALLER, 'dist', 'cli.js')))
    throw new Error(`${INSTALLER} is not built: run pnpm --filter one-gfs2clvm build`);
  const scratch = await mkdtemp(join(tmpdir(), 'one-tm-host-role-'));
  const config = join(scratch, 'ssh_config');
  await writeSshConfig(cluster, config);
  const first = cluster.hosts[0];
  if (!first) throw new Error('testbed has no hosts');
  // A hypervisor has libvirt's qemu.conf, whose keys the role edits; the guests (the machine's
  // root over 9p) have none: they get Debian's stock file, unless one is there already.
  const qemuConf = readFileSync(join(INSTALLER, 'test', 'fixtures', 'qemu.conf.debian12'));
  for (const name of stale)
    await cluster
      .host(name)
      .runner('root')
      .run(
        [
          'sh',
          '-c',
          'test -f /etc/libvirt/qemu.conf || { mkdir -p /etc/libvirt && cat >/etc/libvirt/qemu.conf; }',
        ],
        {
          stdin: qemuConf,
          timeoutMs: 60_000,
        },
      );
  try {
    await run(
      'flock',
      [
        '-w',
        '900',
        cluster.state.dir, // flock(1) on the folder itself: nothing is left in it
        process.execPath,
        cli,
        'install',
        '--role',
        'host',
        '--ssh',
        stale.join(','),
        '--ssh-config',
        config,
        '--known-hosts',
        first.knownHostsFile,
      ],
      { timeout: 900_000 },
    );
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `install --role host on ${stale.join(', ')} failed: ${e.stderr || e.message}\n${e.stdout ?? ''}`,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The datastore directories on GFS2, owned by oneadmin as on a real cloud (the driver makes the VM
 * directories in them as oneadmin). One made earlier by root is given to oneadmin.
 */
export async function ensureDatastoreDirs(cluster: Cluster, ids: number[]): Promise<void> {
  const first = cluster.hosts[0];
  if (!first) throw new Error('testbed has no hosts');
  const dirs = ids.map((id) => `${cluster.datastores}/${id}`);
  await first
    .runner('root')
    .run(['sh', '-c', 'mkdir -p -- "$@" && chown oneadmin:oneadmin -- "$@"', 'dirs', ...dirs], {
      timeoutMs: 120_000,
    });
}

/**
 * The built driver; a rebuild by someone else sharing the work tree (tsup empties dist/ first)
 * is waited for, up to two minutes.
 */
async function waitForBuild(): Promise<void> {
  const bundle = join(REMOTES, 'tm', 'gfs2clvm', 'gfs2clvm-tm.mjs');
  for (let waited = 0; !existsSync(bundle); waited += 2) {
    if (waited >= 120)
      throw new Error(`${REMOTES} is not built: run pnpm --filter @one-gfs2clvm/one-tm build`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Runs a command as root on a testbed host and returns its trimmed stdout. */
export async function sh(runner: Runner, argv: string[]): Promise<string> {
  return (await runner.run(argv, { timeoutMs: 300_000 })).stdout.trim();
}

export interface LvState {
  active: boolean;
  /** The lvmlockd lock this host holds on the LV: `ex`, `sh` or `null`. */
  lock: 'ex' | 'sh' | null;
  tags: string[];
}

/**
 * One LV as `host` sees it; `null` when it does not exist. The lock mode comes from lvmlockd itself
 * (`lvmlockctl --info`: `LK LV ex|sh <uuid>`): `lvs`' lv_active_exclusively says "exclusively" for
 * every locally active LV under lvmlockd (LVM 2.03.16), shared or not.
 */
export async function lvState(runner: Runner, vg: string, lv: string): Promise<LvState | null> {
  const r = await runner.run(
    ['lvs', '--noheadings', '--separator', '|', '-o', 'lv_uuid,lv_active_locally,lv_tags', `${vg}/${lv}`],
    { reject: false, timeoutMs: 120_000 },
  );
  if (r.exitCode !== 0) {
    if (/Failed to find logical volume/.test(r.stderr)) return null;
    throw new Error(`lvs ${vg}/${lv} on ${runner.host}: ${r.stderr}`);
  }
  const [uuid = '', local = '', tags = ''] = r.stdout
    .trim()
    .split('|')
    .map((f) => f.trim());
  // lvmlockctl --info was seen once to fail (exit 158) while lvmlockd was busy under load: retried.
  let info = await runner.run(['lvmlockctl', '--info'], { reject: false, timeoutMs: 60_000 });
  for (let attempt = 1; info.exitCode !== 0 && attempt < 4; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    info = await runner.run(['lvmlockctl', '--info'], { reject: false, timeoutMs: 60_000 });
  }
  if (info.exitCode !== 0)
    throw new Error(`lvmlockctl --info on ${runner.host}: exit ${info.exitCode}: ${info.stderr}`);
  const held = info.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((w) => w[0] === 'LK' && w[1] === 'LV' && w[3] === uuid);
  const mode = held?.[2];
  return {
    active: local === 'active locally',
    lock: mode === 'ex' || mode === 'sh' ? mode : null,
    tags: tags ? tags.split(',') : [],
  };
}

/** sha256 of `count` MiB of the device at `skip` MiB, read on `runner`'s host. */
export async function sumOf(runner: Runner, dev: string, skip: number, count: number): Promise<string> {
  const out = await sh(runner, [
    'sh',
    '-c',
    'dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none | sha256sum',
    'sum',
    dev,
    String(skip),
    String(count),
  ]);
  return out.split(' ')[0] as string;
}

/** sha256 of `mib` MiB of zeros, computed on `runner`'s host. */
export async function zeroSum(runner: Runner, mib: number): Promise<string> {
  return (await sh(runner, ['sh', '-c', 'head -c "$1" /dev/zero | sha256sum', 'z', String(mib * MiB)])).split(
    ' ',
  )[0] as string;
}

/**
 * Removes what a failed test may have left of a VM: its LVs deactivated on both hosts and removed,
 * its directory on GFS2; then closes the cluster's connections. Failures are ignored (best effort).
 */
export async function cleanUp(env: Env, vmId: number, lvNames: string[]): Promise<void> {
  const [n1, n2] = [env.root('node1'), env.root('node2')];
  const lenient = { reject: false, timeoutMs: 120_000 };
  for (const name of lvNames) {
    await n2.run(['lvchange', '-an', `${VG}/${name}`], lenient);
    await n1.run(['lvchange', '-an', `${VG}/${name}`], lenient);
    await n1.run(['lvremove', '-y', `${VG}/${name}`], lenient);
  }
  await n1.run(['rm', '-rf', `/var/lib/one/datastores/${SYS_DS}/${vmId}`], lenient);
  await env.cluster.close();
}
