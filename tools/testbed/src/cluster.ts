import { join } from 'node:path';
import { type Runner, SshRunner } from '@one-gfs2clvm/ssh-remote';
import { localSshArgv } from '@one-gfs2clvm/ssh-remote/testing';
import { TestbedError } from './errors.js';
import { isOurProcess } from './processes.js';
import { hmp, qmp } from './qmp.js';
import type { ClusterState, HostState } from './state.js';

export type TestbedUser = 'root' | 'oneadmin';
/**
 * How `blockSsh` cuts a host off: `drop` takes its NIC's link down (connections, new and open,
 * hang until they time out, like a firewall that drops), `refuse` removes the port forward (new
 * connections are refused at once; open ones go on).
 */
export type BlockMode = 'drop' | 'refuse';

export const DATASTORES = '/var/lib/one/datastores';

/** OpenSSH client options that reach a testbed host with strict host-key checking. */
export function sshClientArgv(
  host: HostState,
  identityFile: string,
  knownHostsFile: string,
  user: TestbedUser,
) {
  return localSshArgv({ port: host.sshPort, user, identityFile, knownHostsFile });
}

/** One emulated host of a running cluster. */
export class TestbedHost {
  readonly name: string;
  readonly index: number;
  readonly sshPort: number;
  readonly identityFile: string;
  readonly knownHostsFile: string;
  private readonly runners = new Map<TestbedUser, SshRunner>();

  constructor(
    private readonly state: HostState,
    paths: { identityFile: string; knownHostsFile: string },
  ) {
    this.name = state.name;
    this.index = state.index;
    this.sshPort = state.sshPort;
    this.identityFile = paths.identityFile;
    this.knownHostsFile = paths.knownHostsFile;
  }

  /**
   * An `SshRunner` for this host as `user` (default root), strict host keys against the testbed's
   * known_hosts, `~/.ssh/config` ignored. One per user and host object: `close()` it when done
   * (further commands reconnect).
   */
  runner(user: TestbedUser = 'root'): Runner {
    checkUser(user);
    let runner = this.runners.get(user);
    if (!runner) {
      runner = new SshRunner({
        host: this.name,
        hostname: '127.0.0.1',
        port: this.sshPort,
        user,
        identityFiles: [this.identityFile],
        knownHostsFile: this.knownHostsFile,
        hostKeyPolicy: 'strict',
        sshConfigFile: '/dev/null',
      });
      this.runners.set(user, runner);
    }
    return runner;
  }

  /** The OpenSSH client argv prefix for this host (append the remote command), for baselines. */
  sshArgv(user: TestbedUser = 'root'): string[] {
    checkUser(user);
    return sshClientArgv(this.state, this.identityFile, this.knownHostsFile, user);
  }

  /** The qemu process still runs (it may be paused). */
  get alive(): boolean {
    return isOurProcess(this.state.pid, this.state.hostDir);
  }

  get pid(): number {
    return this.state.pid;
  }

  /** @internal */
  get qmpSocket(): string {
    return join(this.state.hostDir, 'qmp.sock');
  }

  /** Closes the SSH connections this object opened. */
  async close(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.close()));
    this.runners.clear();
  }
}

function checkUser(user: string): void {
  if (user !== 'root' && user !== 'oneadmin') {
    throw new TestbedError('INVALID_ARGUMENT', `user must be root or oneadmin, got ${JSON.stringify(user)}`);
  }
}

/** A running virtual SAN cluster, from its state file. */
export class Cluster {
  readonly hosts: TestbedHost[];
  readonly sharedVg: 'vg-one-100';
  /** lvmlockd's lock manager for the shared VG: `sanlock` (default) or `dlm`. */
  readonly lockType: ClusterState['options']['lockType'];
  readonly plainVg?: string;
  readonly datastores = DATASTORES;
  /** Hosts where GFS2 is mounted at `datastores` (every host over DLM, node1 with lock_nolock). */
  readonly gfs2Hosts: string[];
  /** `dlm`, `nolock` or `none`. */
  readonly gfs2: ClusterState['options']['gfs2'];
  readonly upSeconds: number | undefined;

  constructor(
    readonly state: ClusterState,
    paths: { identityFile: string; knownHostsFile: string },
  ) {
    this.hosts = state.hosts.map((h) => new TestbedHost(h, paths));
    this.sharedVg = state.sharedVg;
    this.lockType = state.options.lockType;
    if (state.plainVg) this.plainVg = state.plainVg;
    this.gfs2Hosts = [...state.gfs2Hosts];
    this.gfs2 = state.options.gfs2;
    this.upSeconds = state.upSeconds;
  }

  host(name: string): TestbedHost {
    const host = this.hosts.find((h) => h.name === name);
    if (!host) {
      throw new TestbedError(
        'UNKNOWN_HOST',
        `no host ${JSON.stringify(name)} in the testbed (hosts: ${this.hosts.map((h) => h.name).join(', ')})`,
      );
    }
    return host;
  }

  /** A crashed host: SIGKILL its qemu. Its leases stay on the LUN until they expire, as after a crash. */
  async kill(name: string): Promise<void> {
    const host = this.host(name);
    await host.close();
    if (!host.alive) return;
    process.kill(host.pid, 'SIGKILL');
    for (let i = 0; i < 50 && host.alive; i++) await new Promise((r) => setTimeout(r, 100));
  }

  /** A hung host: its CPU stops (QMP `stop`); TCP connections still open but nothing answers. */
  async pause(name: string): Promise<void> {
    await qmp(this.liveHost(name).qmpSocket, 'stop');
  }

  async resume(name: string): Promise<void> {
    await qmp(this.liveHost(name).qmpSocket, 'cont');
  }

  /** Cuts the host off from SSH (see `BlockMode`; default `drop`). The cluster link is untouched. */
  async blockSsh(name: string, mode: BlockMode = 'drop'): Promise<void> {
    const host = this.liveHost(name);
    if (mode === 'drop') {
      await qmp(host.qmpSocket, 'set_link', { name: 'n0', up: false });
    } else if (mode === 'refuse') {
      const out = await hmp(host.qmpSocket, `hostfwd_remove n0 tcp:127.0.0.1:${host.sshPort}`);
      // HMP answers in prose: "host forwarding rule for … removed" or why not.
      if (!/removed/i.test(out))
        throw new TestbedError('QMP', `hostfwd_remove: ${out.trim() || 'no answer'}`);
    } else {
      throw new TestbedError('INVALID_ARGUMENT', `block mode must be drop or refuse, got ${String(mode)}`);
    }
  }

  /** Undoes `blockSsh` in either mode. */
  async unblockSsh(name: string): Promise<void> {
    const host = this.liveHost(name);
    await qmp(host.qmpSocket, 'set_link', { name: 'n0', up: true });
    // Re-adding a forward that exists fails harmlessly ("Could not set up host forwarding rule").
    await hmp(host.qmpSocket, `hostfwd_add n0 tcp:127.0.0.1:${host.sshPort}-:22`);
  }

  /** Closes every SSH connection opened through this object. */
  async close(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.close()));
  }

  private liveHost(name: string): TestbedHost {
    const host = this.host(name);
    if (!host.alive) throw new TestbedError('NOT_RUNNING', `${name}: its qemu process is not running`);
    return host;
  }
}
