import { TestbedError } from './errors.js';
import type { Gfs2Mode, LockType } from './options.js';
import { clusterMac, userMac } from './qemu-argv.js';

/** The corosync cluster name; also the lock table prefix of the GFS2 (`testbed:datastores`). */
export const CLUSTER_NAME = 'testbed';

/**
 * Paths end up in qemu options (comma-separated) and in a sourced shell file: allow only plain
 * characters, so neither needs escaping.
 */
export function checkPlainPath(what: string, path: string): string {
  if (!/^\/[A-Za-z0-9._/+-]*$/.test(path)) {
    throw new TestbedError(
      'INVALID_ARGUMENT',
      `${what} ${JSON.stringify(path)} must be an absolute path of letters, digits and ._/+- only`,
    );
  }
  return path;
}

export interface GuestEnv {
  name: string;
  index: number;
  hosts: number;
  modulesDir: string;
  /** Mounted from the 9p tag `workspace` at this same path (see `QemuHostSpec.workspaceDir`). */
  workspaceDir: string;
  kernelVersion: string;
  gfs2: Gfs2Mode;
  lockType: LockType;
}

/** `hosts/<name>/env`, sourced by guest/stage2.sh. */
export function guestEnvFile(env: GuestEnv): string {
  const lines = [
    `TB_NAME=${env.name}`,
    `TB_INDEX=${env.index}`,
    `TB_HOSTS=${env.hosts}`,
    `TB_MODULES=${checkPlainPath('modules folder', env.modulesDir)}`,
    `TB_VERSION=${env.kernelVersion}`,
    `TB_WORKSPACE=${checkPlainPath('repository folder', env.workspaceDir)}`,
    `TB_MAC_USER=${userMac(env.index)}`,
    `TB_GFS2=${env.gfs2}`,
    `TB_LOCK_TYPE=${env.lockType}`,
  ];
  if (env.gfs2 === 'dlm') lines.push(`TB_MAC_CLUSTER=${clusterMac(env.index)}`);
  if (!/^[0-9A-Za-z.+-]+$/.test(env.kernelVersion)) {
    throw new TestbedError('KERNEL', `unexpected kernel version ${JSON.stringify(env.kernelVersion)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The address of host `index` on the private cluster link. */
export const clusterAddress = (index: number) => `169.254.100.${index}`;

/**
 * corosync 3 over knet on the private link. No crypto: the link is qemu's, over a unix socket on
 * the machine. Its parser wants a newline after every `{`. The token timeout is long (20 s, consensus
 * 24 s) because emulated hosts stall for seconds under load: a host that misses the token leaves the
 * membership and comes back with its DLM state, a stateful merge that DLM without fencing never
 * resolves (GFS2 stays blocked on the others; seen with 10 s in a loaded CI run).
 */
export function corosyncConf(hosts: number): string {
  const nodes = Array.from(
    { length: hosts },
    (_, i) =>
      `\tnode {\n\t\tring0_addr: ${clusterAddress(i + 1)}\n\t\tnodeid: ${i + 1}\n\t\tname: node${i + 1}\n\t}\n`,
  ).join('');
  return [
    'totem {\n',
    '\tversion: 2\n',
    `\tcluster_name: ${CLUSTER_NAME}\n`,
    '\ttransport: knet\n',
    '\tcrypto_cipher: none\n',
    '\tcrypto_hash: none\n',
    '\ttoken: 20000\n',
    '}\n',
    'nodelist {\n',
    nodes,
    '}\n',
    'quorum {\n',
    '\tprovider: corosync_votequorum\n',
    hosts === 2 ? '\ttwo_node: 1\n' : '',
    '}\n',
    'logging {\n',
    '\tto_logfile: yes\n',
    '\tlogfile: /var/log/corosync/corosync.log\n',
    '\tto_syslog: no\n',
    '\tto_stderr: no\n',
    '}\n',
  ].join('');
}

/** One known_hosts line for a guest's host key, reached on a loopback port. */
export function knownHostsLine(port: number, publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  if (!type || !key) throw new TestbedError('SETUP_FAILED', 'malformed host public key');
  return `[127.0.0.1]:${port} ${type} ${key}\n`;
}
