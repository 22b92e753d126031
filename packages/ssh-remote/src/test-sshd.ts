import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { SshRunnerOptions } from './ssh-runner.js';

/** A throw-away OpenSSH server on 127.0.0.1 for tests and benchmarks. */
export interface TestSshd {
  hostname: '127.0.0.1';
  port: number;
  /** The user the tests log in as (the current user). */
  user: string;
  /** Private key accepted by this sshd. */
  identityFile: string;
  /** A known_hosts file holding this sshd's host key. */
  knownHostsFile: string;
  /** This sshd's host public key line (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  /** PID of the listening sshd (its session processes are its children). */
  pid: number;
  /** Temporary directory holding keys and config; removed by `stop()`. */
  dir: string;
  /** Options for an `SshRunner` to this sshd (strict host key checking). */
  runnerOptions(host?: string): SshRunnerOptions;
  /** OpenSSH client argv prefix for the same host, e.g. for baselines: `[...sshArgv(), 'true']`. */
  sshArgv(): string[];
  /** What sshd logged (the last 5000 lines), for failing tests and login counts. */
  log(): string;
  /** Stops sshd and removes its directory. Sessions still running are ended too. */
  stop(): Promise<void>;
}

export interface TestSshdOptions {
  /** sshd's `MaxSessions`; default 10 (OpenSSH's default). */
  maxSessions?: number;
  /** Let bash source the user's ~/.bashrc for each command, as a default sshd does; default false. */
  sourceShellRc?: boolean;
  /** Path of sshd; default `/usr/sbin/sshd` (Debian `openssh-server`). */
  sshdPath?: string;
}

/**
 * Starts `sshd -D -e` with fresh host and user keys in a temp directory (`UsePAM no`, keys only,
 * loopback only, a free port). Needs `openssh-server` and, as root, creates `/run/sshd`
 * (sshd's privilege-separation directory).
 */
export async function startTestSshd(options: TestSshdOptions = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-remote-sshd-'));
  let child: ChildProcess | undefined;
  try {
    const keys = makeKeys(dir);
    const port = await freePort();
    const knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${keys.hostPublicKey}\n`);
    const config = join(dir, 'sshd_config');
    writeFileSync(config, sshdConfig(dir, port, keys.hostKey, options));
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const logLines: string[] = [];
    child = spawn(options.sshdPath ?? '/usr/sbin/sshd', ['-D', '-e', '-f', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      logLines.push(...text.trimEnd().split('\n'));
      // Bounded, but long enough for tests that count logins over a whole file.
      if (logLines.length > 5000) logLines.splice(0, logLines.length - 5000);
    });
    const started = child;
    // If the test process ends without stop() (a test timed out, a crash), take sshd and its keys along.
    const cleanUpAtExit = () => {
      started.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    };
    process.once('exit', cleanUpAtExit);
    await waitForPort(port, started, () => logLines.join('\n'));
    const sshd: TestSshd = {
      ...clientSide(dir, port, keys, knownHostsFile),
      pid: started.pid as number,
      log: () => logLines.join('\n'),
      stop: async () => {
        process.removeListener('exit', cleanUpAtExit);
        await stopProcess(started);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return sshd;
  } catch (err) {
    if (child) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

interface TestKeys {
  hostKey: string;
  /** The host public key line (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  identityFile: string;
}

/** Fresh host and user keys in `dir`; the user key is the only authorized one. */
function makeKeys(dir: string): TestKeys {
  const keygen = (file: string) =>
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ssh-remote-test', '-f', file]);
  const hostKey = join(dir, 'host_ed25519');
  const identityFile = join(dir, 'id_ed25519');
  keygen(hostKey);
  keygen(identityFile);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${identityFile}.pub`));
  const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  return { hostKey, hostPublicKey, identityFile };
}

function sshdConfig(dir: string, port: number, hostKey: string, options: TestSshdOptions): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'StrictModes no',
    `MaxSessions ${options.maxSessions ?? 10}`,
    // The one-ssh-per-command baseline opens many connections quickly.
    'MaxStartups 200',
    'LogLevel INFO',
    // bash sources ~/.bashrc for commands run by sshd, but only in a top-level shell: SHLVL=1
    // makes it a second-level one, so tests and benchmarks measure SSH, not the login user's rc
    // files (on a developer machine those can take 200 ms per command).
    ...(options.sourceShellRc ? [] : ['SetEnv SHLVL=1']),
    '',
  ].join('\n');
}

/** What a client needs to reach the test sshd: address, user, keys, runner options, ssh argv. */
function clientSide(
  dir: string,
  port: number,
  keys: TestKeys,
  knownHostsFile: string,
): Omit<TestSshd, 'pid' | 'log' | 'stop'> {
  const user = userInfo().username;
  const { identityFile, hostPublicKey } = keys;
  return {
    hostname: '127.0.0.1',
    port,
    user,
    identityFile,
    knownHostsFile,
    hostPublicKey,
    dir,
    runnerOptions: (host = 'test-sshd') => ({
      host,
      hostname: '127.0.0.1',
      port,
      user,
      identityFiles: [identityFile],
      knownHostsFile,
      hostKeyPolicy: 'strict',
      sshConfigFile: join(dir, 'no-ssh-config'),
    }),
    sshArgv: () => localSshArgv({ port, user, identityFile, knownHostsFile }),
  };
}

/**
 * The OpenSSH client argv prefix that reaches a test server on 127.0.0.1 as `user`: no ssh_config,
 * only this key, strict host-key checking against `knownHostsFile`, never a prompt.
 */
export function localSshArgv(o: {
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
}): string[] {
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    o.identityFile,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${o.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=20',
    '-p',
    String(o.port),
    '-l',
    o.user,
    '127.0.0.1',
  ];
}

/** A free local TCP port (bound to 127.0.0.1, then closed again): nothing listens on it now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sshd exited at start (${child.exitCode ?? child.signalCode}):\n${log()}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} within 10 s:\n${log()}`);
}

/** TERM to the listening sshd ends it; its session processes are ended by their own connections closing. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
