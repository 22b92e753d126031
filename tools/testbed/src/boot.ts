import { execFile, spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Cluster, type TestbedHost } from './cluster.js';
import { setUpStorage } from './cluster-setup.js';
import { TestbedError } from './errors.js';
import { checkPlainPath, corosyncConf, guestEnvFile, knownHostsLine } from './guest-files.js';
import { type Kernel, prepareKernel } from './kernel.js';
import type { ResolvedOptions } from './options.js';
import { packageDir, type StatePaths, workspaceDir } from './paths.js';
import { pickPorts } from './ports.js';
import { isOurProcess, readPidFile } from './processes.js';
import { qemuArgv } from './qemu-argv.js';
import { type ClusterState, type HostState, writeState } from './state.js';
import { teardown } from './teardown.js';

const exec = promisify(execFile);
const QEMU = 'qemu-system-x86_64';
const PLAIN_DISK_GIB = 1;
/** How long a host may take from qemu start to "ready" (sshd, sanlock, lvmlockd) under TCG. */
const BOOT_TIMEOUT_MS = 240_000;

type Log = (line: string) => void;

export function clusterFrom(paths: StatePaths, state: ClusterState): Cluster {
  return new Cluster(state, { identityFile: paths.identityFile, knownHostsFile: paths.knownHostsFile });
}

/**
 * Boots a new cluster into an empty state folder: keys, images, hub, qemu processes; waits for SSH;
 * sets up the storage. On failure everything started is stopped again (unless
 * TESTBED_KEEP_ON_FAILURE=1).
 */
export async function boot(paths: StatePaths, options: ResolvedOptions, log: Log): Promise<Cluster> {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  await checkTools();
  checkDiskSpace(paths.dir, options);

  const kernel = await prepareKernel(log);
  const ports = await pickPorts(
    options.hosts,
    process.env.TESTBED_SSH_PORT_BASE ? Number(process.env.TESTBED_SSH_PORT_BASE) : undefined,
  );

  const hosts: HostState[] = ports.map((sshPort, i) => ({
    name: `node${i + 1}`,
    index: i + 1,
    sshPort,
    pid: 0,
    hostDir: paths.hostDir(`node${i + 1}`),
  }));
  const state: ClusterState = {
    version: 1,
    dir: paths.dir,
    options,
    kernelVersion: kernel.version,
    hosts,
    sharedVg: 'vg-one-100',
    ...(options.plainVg ? { plainVg: 'vg-plain' as const } : {}),
    gfs2Hosts: [],
    ready: false,
    bootedAt: new Date().toISOString(),
  };
  writeState(paths, state);

  try {
    await writeGuestFiles(paths, state, kernel);
    createDisk(paths.sanImage, options.lunGiB);
    if (options.plainVg) createDisk(paths.plainImage, PLAIN_DISK_GIB);
    if (options.gfs2 === 'dlm') {
      state.hubPid = await startHub(paths);
      writeState(paths, state);
    }
    for (const host of hosts) {
      host.pid = await startQemu(paths, host, options, kernel);
      writeState(paths, state);
    }
    log(
      `testbed: ${hosts.length} host${hosts.length === 1 ? '' : 's'} started under qemu (${options.accel}) after ${elapsed()}`,
    );

    const cluster = clusterFrom(paths, state);
    try {
      await Promise.all(cluster.hosts.map((h, i) => waitReady(h, hosts[i] as HostState, log)));
      log(`testbed: every host answers over SSH after ${elapsed()}`);
      state.gfs2Hosts = await setUpStorage(cluster, options, (line) => log(`${line} (${elapsed()})`));
    } finally {
      await cluster.close();
    }
    state.ready = true;
    state.upSeconds = Math.round((performance.now() - started) / 100) / 10;
    writeState(paths, state);
    log(`testbed: up in ${state.upSeconds} s`);
    return clusterFrom(paths, state);
  } catch (error) {
    // TESTBED_KEEP_ON_FAILURE=1 leaves the hosts running for a look (`testbed ssh`, console.log files).
    if (process.env.TESTBED_KEEP_ON_FAILURE !== '1') await teardown(paths, state);
    throw error;
  }
}

/**
 * Starts the qemu of one host of a running cluster again (after `kill`): same name, port, keys and
 * disks, a fresh root as after a reboot. Returns once it answers over SSH; joining the storage is
 * `rejoinStorage`'s.
 */
export async function restartQemu(
  paths: StatePaths,
  state: ClusterState,
  host: HostState,
  log: Log,
): Promise<void> {
  const kernel = await prepareKernel(log);
  host.pid = await startQemu(paths, host, state.options, kernel);
  writeState(paths, state);
  const cluster = clusterFrom(paths, state);
  try {
    await waitReady(cluster.host(host.name), host, log);
  } finally {
    await cluster.close();
  }
}

async function checkTools(): Promise<void> {
  for (const tool of [QEMU, 'ssh-keygen', 'bash']) {
    try {
      await exec('/bin/sh', ['-c', 'command -v "$1"', 'sh', tool]);
    } catch {
      throw new TestbedError(
        'MISSING_TOOL',
        `${tool} is not installed: run \`bash scripts/setup.sh\` (installs tools/testbed/debian-packages.txt)`,
      );
    }
  }
}

function checkDiskSpace(dir: string, options: ResolvedOptions): void {
  const stats = statfsSync(dir);
  const free = Number(stats.bavail) * Number(stats.bsize);
  // The LUN files are sparse, but the tests may fill them: ask for their full size.
  const needed = (options.lunGiB + (options.plainVg ? PLAIN_DISK_GIB : 0)) * 2 ** 30;
  if (free < needed) {
    throw new TestbedError(
      'NO_SPACE',
      `only ${(free / 2 ** 30).toFixed(1)} GiB free in ${dir}, the shared LUN needs ${(needed / 2 ** 30).toFixed(0)} GiB: free some space or use a smaller lunGiB`,
    );
  }
}

async function keygen(file: string, comment: string): Promise<void> {
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/**
 * Keys are made here on the machine, so known_hosts is written before any guest boots and every
 * client can check host keys strictly.
 */
async function writeGuestFiles(paths: StatePaths, state: ClusterState, kernel: Kernel): Promise<void> {
  await keygen(paths.identityFile, 'testbed-client');
  const clientKey = readFileSync(`${paths.identityFile}.pub`, 'utf8');
  copyFileSync(join(packageDir, 'guest', 'stage2.sh'), paths.stage2);
  if (state.options.gfs2 === 'dlm') writeFileSync(paths.corosyncConf, corosyncConf(state.hosts.length));
  let knownHosts = '';
  for (const host of state.hosts) {
    mkdirSync(host.hostDir, { recursive: true });
    const hostKey = join(host.hostDir, 'ssh_host_ed25519_key');
    await keygen(hostKey, host.name);
    knownHosts += knownHostsLine(host.sshPort, readFileSync(`${hostKey}.pub`, 'utf8'));
    writeFileSync(join(host.hostDir, 'authorized_keys'), clientKey);
    writeFileSync(
      join(host.hostDir, 'env'),
      guestEnvFile({
        name: host.name,
        index: host.index,
        hosts: state.hosts.length,
        modulesDir: kernel.modules,
        workspaceDir: checkPlainPath('repository folder', workspaceDir),
        kernelVersion: kernel.version,
        gfs2: state.options.gfs2,
        lockType: state.options.lockType,
      }),
    );
  }
  writeFileSync(paths.knownHostsFile, knownHosts);
}

/** A fresh sparse raw image (all zeroes): a new, empty LUN. */
function createDisk(path: string, gib: number): void {
  rmSync(path, { force: true });
  closeSync(openSync(path, 'w'));
  truncateSync(path, gib * 2 ** 30);
}

async function startHub(paths: StatePaths): Promise<number> {
  const out = openSync(paths.hubLog, 'a');
  const child = spawn(process.execPath, [join(packageDir, 'bin', 'link-hub.mjs'), paths.linkSocket], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new TestbedError('BOOT_FAILED', 'cannot start the cluster-link hub');
  writeFileSync(paths.hubPidFile, String(pid));
  for (let i = 0; i < 100 && !existsSync(paths.linkSocket); i++) await sleep(50);
  if (!existsSync(paths.linkSocket)) {
    throw new TestbedError('BOOT_FAILED', `the cluster-link hub did not start (see ${paths.hubLog})`);
  }
  return pid;
}

async function startQemu(paths: StatePaths, host: HostState, options: ResolvedOptions, kernel: Kernel) {
  rmSync(join(host.hostDir, 'console.log'), { force: true });
  const argv = qemuArgv({
    name: host.name,
    index: host.index,
    kernel: kernel.kernel,
    initrd: kernel.initrd,
    stateDir: paths.dir,
    workspaceDir,
    hostDir: host.hostDir,
    sshPort: host.sshPort,
    sanImage: paths.sanImage,
    ...(options.plainVg ? { plainImage: paths.plainImage } : {}),
    ...(options.gfs2 === 'dlm' ? { linkSocket: paths.linkSocket } : {}),
    accel: options.accel,
    memoryMiB: options.memoryMiB,
    cpus: options.cpus,
  });
  try {
    // -daemonize: qemu returns once the VM is set up (or failed to be), then runs on its own.
    await exec(QEMU, argv, { timeout: 60_000 });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    if (/host forwarding rule|Address already in use/i.test(stderr)) {
      throw new TestbedError(
        'PORT_IN_USE',
        `${host.name}: loopback port ${host.sshPort} was taken before qemu could use it: run up again`,
      );
    }
    throw new TestbedError(
      'BOOT_FAILED',
      `${host.name}: qemu did not start: ${stderr.split('\n')[0] ?? ''}`,
      {
        cause: error,
      },
    );
  }
  const pid = readPidFile(join(host.hostDir, 'qemu.pid'));
  if (!pid) throw new TestbedError('BOOT_FAILED', `${host.name}: qemu wrote no pid file`);
  return pid;
}

/** Waits until the host answers over SSH and its stage2 is done (sshd, sanlock, lvmlockd up). */
async function waitReady(host: TestbedHost, state: HostState, log: Log): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  const runner = host.runner();
  for (;;) {
    if (!isOurProcess(state.pid, state.hostDir)) {
      throw new TestbedError('BOOT_FAILED', `${host.name}: qemu exited during boot; ${consoleTail(state)}`);
    }
    try {
      const result = await runner.run(['test', '-e', '/run/testbed-ready'], {
        reject: false,
        timeoutMs: 20_000,
      });
      if (result.exitCode === 0) {
        log(`testbed: ${host.name} ready (ssh port ${host.sshPort})`);
        return;
      }
    } catch {
      // Not up yet (slirp accepts the TCP connection before sshd runs): try again.
      await runner.close();
    }
    if (Date.now() > deadline) {
      throw new TestbedError(
        'BOOT_FAILED',
        `${host.name}: not ready over SSH within ${BOOT_TIMEOUT_MS / 1000} s; ${consoleTail(state)}`,
      );
    }
    await sleep(1000);
  }
}

function consoleTail(host: HostState): string {
  const file = join(host.hostDir, 'console.log');
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return `last console line: ${JSON.stringify(lines.at(-1) ?? '')} (see ${file})`;
  } catch {
    return `no console output (${file})`;
  }
}
