import { existsSync, mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { boot, clusterFrom, restartQemu } from './boot.js';
import type { Cluster } from './cluster.js';
import { rejoinStorage } from './cluster-setup.js';
import { TestbedError } from './errors.js';
import { checkPlainPath } from './guest-files.js';
import { type ResolvedOptions, resolveOptions, sameOptions, type UpOptions } from './options.js';
import { stateDir, statePaths } from './paths.js';
import { isOurProcess } from './processes.js';
import { qmp } from './qmp.js';
import { type ClusterState, readState, writeState } from './state.js';
import { withLock } from './state-lock.js';
import { teardown } from './teardown.js';

type Log = (line: string) => void;

/**
 * Boots the cluster, or returns the running one when it was made with the same options (so `up`
 * twice is harmless). Returns once every host answers over SSH, the shared VG's lockspace is
 * started on every host and GFS2 is mounted.
 */
export async function up(options: UpOptions = {}, dir = stateDir()): Promise<Cluster> {
  const resolved = resolveOptions(options);
  const log: Log = options.log ?? (() => {});
  const paths = statePaths(checkPlainPath('state folder (TESTBED_DIR)', dir));
  mkdirSync(paths.dir, { recursive: true });
  return withLock(paths, async () => {
    const existing = readState(paths);
    if (existing?.ready && allAlive(existing)) {
      if (sameOptions(existing.options, resolved)) {
        log(`testbed: already up (${existing.hosts.map((h) => h.name).join(', ')}), reusing it`);
        return clusterFrom(paths, existing);
      }
      throw new TestbedError(
        'ALREADY_RUNNING',
        `a testbed with other options is up in ${paths.dir} (${describe(existing.options)}): run \`testbed down\` first`,
      );
    }
    if (existing) {
      log('testbed: cleaning up a cluster that is not (or no longer) complete');
      await teardown(paths, existing);
    }
    return boot(paths, resolved, log);
  });
}

/** The running cluster of the state folder; a clear error when there is none. */
export async function attach(dir = stateDir()): Promise<Cluster> {
  const paths = statePaths(dir);
  const state = readState(paths);
  if (!state?.ready) {
    throw new TestbedError('NOT_RUNNING', `no testbed is up in ${paths.dir}: run \`pnpm testbed up\` first`);
  }
  if (!state.hosts.some((h) => isOurProcess(h.pid, h.hostDir))) {
    throw new TestbedError(
      'NOT_RUNNING',
      `the testbed in ${paths.dir} has no running host: run \`pnpm testbed down\``,
    );
  }
  return clusterFrom(paths, state);
}

/**
 * A crashed host coming back: boots the host `name` again after `Cluster.kill` (same name, port,
 * keys and disks; its root is fresh, as after a reboot, so whatever was installed on it is gone),
 * then starts the shared VG's lockspace there and mounts GFS2 again. sanlock makes the lockspace
 * start wait until the lease of the host's previous life has expired (minutes after a kill).
 * Returns the cluster with the host's new pid; other `Cluster` objects still hold the old one.
 */
export async function restartHost(name: string, dir = stateDir(), log: Log = () => {}): Promise<Cluster> {
  const paths = statePaths(dir);
  return withLock(paths, async () => {
    const state = readState(paths);
    if (!state?.ready) {
      throw new TestbedError(
        'NOT_RUNNING',
        `no testbed is up in ${paths.dir}: run \`pnpm testbed up\` first`,
      );
    }
    const host = state.hosts.find((h) => h.name === name);
    if (!host) {
      throw new TestbedError(
        'UNKNOWN_HOST',
        `no host ${JSON.stringify(name)} in the testbed (hosts: ${state.hosts.map((h) => h.name).join(', ')})`,
      );
    }
    if (isOurProcess(host.pid, host.hostDir)) {
      throw new TestbedError('ALREADY_RUNNING', `${name} is running: kill it first`);
    }
    await restartQemu(paths, state, host, log);
    writeState(paths, state);
    const cluster = clusterFrom(paths, state);
    try {
      await rejoinStorage(cluster, cluster.host(name), state.options, log);
    } finally {
      await cluster.close();
    }
    return clusterFrom(paths, state);
  });
}

/** Stops every qemu (and the link hub) of the cluster and removes its state folder's files. */
export async function down(dir = stateDir()): Promise<void> {
  const paths = statePaths(dir);
  if (!existsSync(paths.dir)) return;
  await withLock(paths, async () => {
    await teardown(paths, readState(paths));
  });
  rmSync(paths.lockFile, { force: true });
  try {
    rmdirSync(paths.dir);
  } catch {
    // Not empty: files that are not ours (TESTBED_DIR pointed at a used folder) stay.
  }
}

export interface HostStatus {
  name: string;
  sshPort: number;
  pid: number;
  alive: boolean;
  /** qemu's run state (`running`, `paused` …), when alive. */
  runState?: string;
}

export interface TestbedStatus {
  dir: string;
  up: boolean;
  options?: ResolvedOptions;
  hosts: HostStatus[];
  gfs2Hosts: string[];
  upSeconds?: number;
}

export async function status(dir = stateDir()): Promise<TestbedStatus> {
  const paths = statePaths(dir);
  const state = readState(paths);
  if (!state) return { dir: paths.dir, up: false, hosts: [], gfs2Hosts: [] };
  const hosts = await Promise.all(
    state.hosts.map(async (h): Promise<HostStatus> => {
      const alive = isOurProcess(h.pid, h.hostDir);
      const base = { name: h.name, sshPort: h.sshPort, pid: h.pid, alive };
      if (!alive) return base;
      try {
        const { status: runState } = (await qmp(
          join(h.hostDir, 'qmp.sock'),
          'query-status',
          undefined,
          3000,
        )) as {
          status: string;
        };
        return { ...base, runState };
      } catch {
        return base;
      }
    }),
  );
  return {
    dir: paths.dir,
    up: state.ready && hosts.some((h) => h.alive),
    options: state.options,
    hosts,
    gfs2Hosts: state.gfs2Hosts,
    ...(state.upSeconds === undefined ? {} : { upSeconds: state.upSeconds }),
  };
}

function allAlive(state: ClusterState): boolean {
  return state.hosts.every((h) => isOurProcess(h.pid, h.hostDir));
}

function describe(o: ResolvedOptions): string {
  return `hosts=${o.hosts} lunGiB=${o.lunGiB} gfs2=${o.gfs2} lockType=${o.lockType} plainVg=${o.plainVg} accel=${o.accel} cpus=${o.cpus ?? 1}`;
}
