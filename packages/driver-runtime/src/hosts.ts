import { hostname } from 'node:os';
import { Lvm } from '@one-gfs2clvm/lvm';
import { type Runner, SshRunner } from '@one-gfs2clvm/ssh-remote';
import type { DriverConfig, StorageSettings } from './config.js';
import { DriverError } from './errors.js';
import { frontEndLock } from './fe-lock.js';
import { type OneClient, USABLE_HOST_STATES } from './one-client.js';

/** One hypervisor host reached over SSH: its runner, a data-path runner and its LVM. */
export interface Host {
  name: string;
  /** Commands as the SSH user (file operations on GFS2, reads). */
  runner: Runner;
  /** Data-path commands (dd, mkfs, mkswap, wipe-by-dd) with `DATA_PATH` and `DATA_PREFIX`. */
  data: Runner;
  lvm: Lvm;
}

/**
 * `mkfs`, `mkswap` and `blkdiscard` live in sbin directories, which are not on an unprivileged
 * user's PATH over SSH (Debian gives oneadmin `/usr/local/bin:/usr/bin:/bin:/usr/games`): the
 * data-path commands run under `env` with this PATH (seen on the testbed: `mkswap` exit 127 as oneadmin).
 */
export const DATA_PATH = ['env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/**
 * The hosts of one action: one SSH connection per host (design §7), opened on first use and shared
 * by everything the action runs there.
 */
export class HostPool {
  readonly #config: DriverConfig;
  readonly #hosts = new Map<string, Host>();
  readonly #lock;
  readonly #connect: (name: string) => Runner;

  readonly #trace: ((line: string) => void) | undefined;

  /**
   * `connect` replaces the SSH runner per host (unit tests pass fakes); `trace` receives one line
   * per host command (argv, exit code, milliseconds) for `DEBUG:` diagnostics.
   */
  constructor(config: DriverConfig, connect?: (name: string) => Runner, trace?: (line: string) => void) {
    this.#config = config;
    this.#lock = frontEndLock(config.lockDir, config.lockTimeoutSeconds);
    this.#connect = connect ?? ((name) => sshRunner(name, config));
    this.#trace = trace;
  }

  get(name: string): Host {
    let host = this.#hosts.get(name);
    if (!host) {
      const c = this.#config;
      const runner = this.#trace ? traced(this.#connect(name), this.#trace) : this.#connect(name);
      const data = withPrefix(runner, [...DATA_PATH, ...c.dataPrefix]);
      const lvm = new Lvm({
        runner,
        backend: c.lvmBackend,
        ...(c.lvmBackend === 'lvm' ? { prefix: c.lvmPrefix } : {}),
        lockMode: c.lockMode,
        onMetadataLock: this.#lock,
        // Reports in `json` from the first command: the library reads it as well as `json_std`,
        // and LVM < 2.03.17 (Debian 12) would refuse a first `json_std` probe in every action.
        capabilities: { jsonStd: false },
        // A plain-LVM wipe's blkdiscard and dd: the data path's PATH and prefix.
        dataRunner: data,
      });
      host = { name, runner, data, lvm };
      this.#hosts.set(name, host);
    }
    return host;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.#hosts.values()].map((h) => h.runner.close()));
    this.#hosts.clear();
  }
}

function sshRunner(name: string, c: DriverConfig): SshRunner {
  return new SshRunner({
    host: name,
    user: c.sshUser,
    hostKeyPolicy: c.sshHostKeyPolicy,
    connectTimeoutMs: c.sshConnectTimeoutSeconds * 1000,
    ...(c.sshConfig ? { sshConfigFile: c.sshConfig } : {}),
    ...(c.sshKnownHosts ? { knownHostsFile: c.sshKnownHosts } : {}),
    ...(c.sshIdentity.length > 0 ? { identityFiles: c.sshIdentity } : {}),
  });
}

/** Reports every command with its exit code and duration. */
function traced(runner: Runner, trace: (line: string) => void): Runner {
  const inner = runner;
  return {
    host: inner.host,
    async run(argv, options) {
      const started = performance.now();
      const ms = () => Math.round(performance.now() - started);
      try {
        const result = await inner.run(argv, options);
        trace(`${inner.host}: ${argv.join(' ')} → exit ${result.exitCode} in ${ms()} ms`);
        return result;
      } catch (error) {
        trace(`${inner.host}: ${argv.join(' ')} → ${(error as Error).message} after ${ms()} ms`);
        throw error;
      }
    },
    close: () => inner.close(),
  };
}

/** The same connection with a command prefix (SshRunner has its own; others get a thin wrapper). */
function withPrefix(runner: Runner, prefix: readonly string[]): Runner {
  if (runner instanceof SshRunner) return runner.withPrefix([...prefix]);
  return {
    host: runner.host,
    run: (argv, options) => runner.run([...prefix, ...argv], options),
    close: () => runner.close(),
  };
}

/** Whether a transfer-line host name means the front-end (which cannot see the SAN or GFS2). */
export function isFrontEnd(host: string, config: DriverConfig): boolean {
  const own = hostname();
  return config.frontendHosts.includes(host) || host === own || host === own.split('.')[0];
}

/**
 * A hypervisor to do LV and GFS2 work when the VM is on no host (undeployed, stopped, terminated
 * from those states): a usable host of the datastore's `BRIDGE_LIST`, else a usable host of its
 * clusters. `seed` (the VM id) spreads the work like OpenNebula's `get_destination_host`.
 */
export async function pickWorkHost(
  one: OneClient,
  storage: StorageSettings,
  clusterIds: readonly number[],
  seed: number,
  config: DriverConfig,
): Promise<string> {
  const hosts = await one.hosts();
  const usable = hosts.filter((h) => USABLE_HOST_STATES.has(h.state) && !isFrontEnd(h.name, config));
  const candidates =
    storage.bridgeList.length > 0
      ? storage.bridgeList.filter((name) => usable.some((h) => h.name === name))
      : usable
          .filter(
            (h) => clusterIds.length === 0 || (h.clusterId !== undefined && clusterIds.includes(h.clusterId)),
          )
          .map((h) => h.name);
  if (candidates.length === 0) {
    throw new DriverError(
      'NO_HOST',
      storage.bridgeList.length > 0
        ? `no usable host in BRIDGE_LIST (${storage.bridgeList.join(' ')})`
        : 'no usable host in the datastore cluster to do the LV work',
    );
  }
  return candidates[seed % candidates.length] as string;
}
