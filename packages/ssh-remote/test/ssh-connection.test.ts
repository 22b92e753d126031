import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SshRunner, type SshRunnerOptions } from '../src/index.js';
import { startTestSshd, type TestSshd } from '../src/testing.js';
import { failure, uniqueMarker, waitUntilGone, waitUntilRunning } from './helpers.js';

let sshd: TestSshd;
let dir: string;
const runners: SshRunner[] = [];

beforeAll(async () => {
  sshd = await startTestSshd();
  dir = mkdtempSync(join(tmpdir(), 'ssh-remote-conn-'));
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.close()));
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A runner closed after the file's tests, so a failing test leaves no connection behind. */
function runnerWith(overrides: Partial<SshRunnerOptions> = {}): SshRunner {
  const runner = new SshRunner({ ...sshd.runnerOptions('node1'), ...overrides });
  runners.push(runner);
  return runner;
}

function keygen(name: string): string {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  return file;
}

/**
 * Starts a long command on an open connection and returns, once it runs, its marker, its promise
 * and the PIDs of the sshd processes serving connections (children of the listening sshd).
 */
async function startSleeper(runner: SshRunner) {
  await runner.run(['true']);
  const marker = uniqueMarker();
  const running = runner.run(['sh', '-c', `sleep 60; : ${marker}`]);
  // The `sh` under `timeout`, not the `setpriv` stage before it: setpriv has not armed its
  // parent-death signal yet (a window of microseconds that a test can still hit).
  await waitUntilRunning(`^sh -c sleep 60; : ${marker}`);
  return { marker, running, sessions: sessionPids() };
}

/** The sshd processes serving connections: children of the listening sshd. */
function sessionPids(): number[] {
  return execFileSync('pgrep', ['-P', String(sshd.pid)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map(Number);
}

function acceptedLogins(): number {
  return sshd
    .log()
    .split('\n')
    .filter((l) => l.startsWith('Accepted publickey')).length;
}

describe('host keys', () => {
  test('strict (the default) refuses a key that does not match known_hosts, naming the line and the fix', async () => {
    const otherKey = readFileSync(`${keygen('other_host')}.pub`, 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
    const knownHostsFile = join(dir, 'known_hosts_wrong');
    writeFileSync(knownHostsFile, `# other\n[127.0.0.1]:${sshd.port} ${otherKey}\n`);
    const { hostKeyPolicy: _, ...options } = sshd.runnerOptions('node1');
    const runner = runnerWith({ ...options, knownHostsFile });
    const err = await failure(runner.run(['touch', join(dir, 'must-not-exist')]));
    expect(err.code).toBe('HOST_KEY_MISMATCH');
    expect(err.host).toBe('node1');
    expect(err.argv).toEqual(['touch', join(dir, 'must-not-exist')]);
    expect(err.message).toContain(`host key does not match ${knownHostsFile} line 2`);
    expect(err.message).toContain('man-in-the-middle');
    expect(err.message).toContain(`ssh-keygen -f ${knownHostsFile} -R '[127.0.0.1]:${sshd.port}'`);
    expect(/must-not-exist/.test(execFileSync('ls', [dir]).toString())).toBe(false);
  });

  test('strict refuses an unknown host with a hint', async () => {
    const runner = runnerWith({ knownHostsFile: join(dir, 'known_hosts_empty') });
    const err = await failure(runner.run(['true']));
    expect(err.code).toBe('HOST_KEY_UNKNOWN');
    expect(err.message).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1`);
  });

  test('a revoked key is refused', async () => {
    const knownHostsFile = join(dir, 'known_hosts_revoked');
    writeFileSync(
      knownHostsFile,
      `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n@revoked * ${sshd.hostPublicKey}\n`,
    );
    const err = await failure(runnerWith({ knownHostsFile }).run(['true']));
    expect(err.code).toBe('HOST_KEY_MISMATCH');
    expect(err.message).toMatch(/@revoked/);
  });

  test('hashed known_hosts entries (ssh-keygen -H) are matched', async () => {
    const knownHostsFile = join(dir, 'known_hosts_hashed');
    copyFileSync(sshd.knownHostsFile, knownHostsFile);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', knownHostsFile], { stdio: 'pipe' });
    expect(readFileSync(knownHostsFile, 'utf8')).toMatch(/^\|1\|/);
    expect((await runnerWith({ knownHostsFile }).run(['echo', 'ok'])).stdout).toBe('ok\n');
  });

  test('accept-new records an unknown key, then holds it to that key', async () => {
    const knownHostsFile = join(dir, 'sub', 'known_hosts_new');
    const warnings: string[] = [];
    const runner = runnerWith({ knownHostsFile, hostKeyPolicy: 'accept-new', warn: (m) => warnings.push(m) });
    expect((await runner.run(['echo', 'first'])).stdout).toBe('first\n');
    expect(readFileSync(knownHostsFile, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
    expect(warnings.join('\n')).toMatch(/added ssh-ed25519 key of \[127\.0\.0\.1\]:\d+/);
    // The same file, now with a different key for the host: accept-new must refuse too.
    const otherKey = readFileSync(`${keygen('other_host2')}.pub`, 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
    writeFileSync(knownHostsFile, `[127.0.0.1]:${sshd.port} ${otherKey}\n`);
    const err = await failure(
      runnerWith({ knownHostsFile, hostKeyPolicy: 'accept-new', warn: () => {} }).run(['true']),
    );
    expect(err.code).toBe('HOST_KEY_MISMATCH');
  });

  test('insecure connects to anything and says so in the log', async () => {
    const warnings: string[] = [];
    const runner = runnerWith({
      knownHostsFile: join(dir, 'known_hosts_none'),
      hostKeyPolicy: 'insecure',
      warn: (m) => warnings.push(m),
    });
    expect((await runner.run(['echo', 'in'])).stdout).toBe('in\n');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/host key checking is OFF for node1/);
  });

  test('an unreadable known_hosts file is one clear error, not a crash', async () => {
    const err = await failure(runnerWith({ knownHostsFile: dir }).run(['true']));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(`node1 (${sshd.user}@127.0.0.1:${sshd.port}): cannot read ${dir}: EISDIR`);
  });

  test('an unknown policy is refused at construction', () => {
    expect(() => new SshRunner({ ...sshd.runnerOptions(), hostKeyPolicy: 'yes' as 'strict' })).toThrow(
      /unknown hostKeyPolicy "yes"/,
    );
  });
});

describe('authentication and reachability', () => {
  test('a key sshd does not accept: AUTH_FAILED naming the keys tried', async () => {
    const stranger = keygen('stranger');
    const err = await failure(runnerWith({ identityFiles: [stranger] }).run(['true']));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`tried ${stranger}`);
    expect(err.message).toContain('authorized_keys');
  });

  test('no usable key at all: AUTH_FAILED saying so', async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const err = await failure(runnerWith({ identityFiles: [join(dir, 'no-such-key')] }).run(['true']));
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.message).toMatch(/no key file found and no ssh-agent/);
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });

  test('keys from ssh-agent (SSH_AUTH_SOCK) are used', async () => {
    const agentDir = mkdtempSync(join(tmpdir(), 'ssh-remote-agent-'));
    const socket = join(agentDir, 'agent.sock');
    const agentPid = Number(
      /SSH_AGENT_PID=(\d+)/.exec(execFileSync('ssh-agent', ['-s', '-a', socket], { encoding: 'utf8' }))?.[1],
    );
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      execFileSync('ssh-add', ['-q', sshd.identityFile], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
        stdio: 'pipe',
      });
      process.env.SSH_AUTH_SOCK = socket;
      const runner = runnerWith({ identityFiles: [join(dir, 'no-such-key')] });
      expect((await runner.run(['echo', 'agent'])).stdout).toBe('agent\n');
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      process.kill(agentPid, 'SIGTERM');
      rmSync(agentDir, { recursive: true, force: true });
    }
  });

  test('nothing listening: UNREACHABLE, retryable', async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    await new Promise((resolve) => server.close(resolve));
    const err = await failure(runnerWith({ port }).run(['true']));
    expect(err.code).toBe('UNREACHABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`node1 (${sshd.user}@127.0.0.1:${port}): unreachable: ECONNREFUSED`);
  });

  test('a port that accepts but never speaks SSH: UNREACHABLE after connectTimeoutMs', async () => {
    const silent: Server = createServer(() => {});
    const port = await new Promise<number>((resolve) =>
      silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)),
    );
    try {
      const err = await failure(runnerWith({ port, connectTimeoutMs: 500 }).run(['true']));
      expect(err.code).toBe('UNREACHABLE');
      expect(err.message).toMatch(/no SSH handshake within 500 ms/);
    } finally {
      silent.close();
    }
  });
});

describe('one connection, many channels', () => {
  test('50 concurrent commands share one connection and all succeed', async () => {
    const before = acceptedLogins();
    const runner = runnerWith();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => runner.run(['sh', '-c', 'sleep 0.1; echo "$0"', `cmd-${i}`])),
    );
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 50 }, (_, i) => `cmd-${i}\n`));
    expect(acceptedLogins() - before).toBe(1);
  });

  test('never more than maxChannels commands run at once', async () => {
    const runner = runnerWith({ maxChannels: 3 });
    const counter = join(dir, 'concurrency');
    // Each command records how many of its kind run right now (the host is this machine).
    const script = `mkdir -p ${counter}; touch ${counter}/$$; ls ${counter} | wc -l; sleep 0.2; rm ${counter}/$$`;
    const results = await Promise.all(Array.from({ length: 12 }, () => runner.run(['sh', '-c', script])));
    const peaks = results.map((r) => Number(r.stdout.trim()));
    expect(Math.max(...peaks)).toBeLessThanOrEqual(3);
    expect(Math.max(...peaks)).toBeGreaterThan(1);
  });

  test('a dropped connection: the running command fails with CONNECTION_LOST, is killed on the host, and the next command reconnects', async () => {
    const runner = runnerWith();
    const { marker, running, sessions } = await startSleeper(runner);
    // Killing the per-connection sshd processes kills the TCP connection.
    for (const pid of sessions) process.kill(pid, 'SIGKILL');
    const err = await failure(running);
    expect(err.code).toBe('CONNECTION_LOST');
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/may or may not have completed/);
    expect(await waitUntilGone(marker)).toEqual([]);
    expect((await runner.run(['echo', 'back'])).stdout).toBe('back\n');
  });

  test('a connection dropped while stdout streams into a local stream is CONNECTION_LOST too', async () => {
    const runner = runnerWith();
    let received = 0;
    let cut = false;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (!cut && received > 8 * 1024 * 1024) {
          cut = true;
          for (const pid of sessionPids()) process.kill(pid, 'SIGKILL');
        }
        callback();
      },
    });
    const err = await failure(runner.run(['head', '-c', '2000000000', '/dev/zero'], { stdout: sink }));
    expect(cut).toBe(true);
    expect(err.code).toBe('CONNECTION_LOST');
  });

  test('keepalive notices a host that stopped answering: CONNECTION_LOST within a few intervals', async () => {
    const runner = runnerWith({ keepaliveIntervalMs: 200 });
    const { marker, running, sessions } = await startSleeper(runner);
    for (const pid of sessions) process.kill(pid, 'SIGSTOP');
    try {
      const err = await failure(running);
      expect(err.code).toBe('CONNECTION_LOST');
    } finally {
      for (const pid of sessions) process.kill(pid, 'SIGCONT');
    }
    // Resumed, the session process finds its connection gone and exits; the command dies with it.
    expect(await waitUntilGone(marker)).toEqual([]);
    expect((await runner.run(['echo', 'back'])).stdout).toBe('back\n');
  });

  test('maxChannels above sshd MaxSessions: refused sessions are retried until one frees up', async () => {
    const small = await startTestSshd({ maxSessions: 2 });
    const runner = new SshRunner({ ...small.runnerOptions('node1'), maxChannels: 4 });
    try {
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => runner.run(['sh', '-c', 'sleep 0.3; echo "$0"', `n${i}`])),
      );
      expect(results.map((r) => r.stdout)).toEqual(['n0\n', 'n1\n', 'n2\n', 'n3\n']);
    } finally {
      await runner.close();
      await small.stop();
    }
  });

  test('withPrefix shares the connection', async () => {
    const runner = runnerWith();
    await runner.run(['true']);
    const before = acceptedLogins();
    const prefixed = runner.withPrefix(['env', 'VIA=prefix']);
    const result = await prefixed.run(['sh', '-c', 'echo "$VIA"']);
    expect(result.stdout).toBe('prefix\n');
    expect(result.argv).toEqual(['env', 'VIA=prefix', 'sh', '-c', 'echo "$VIA"']);
    expect(acceptedLogins() - before).toBe(0);
  });

  test('close() ends the connection; the next run opens a new one', async () => {
    const runner = runnerWith();
    await runner.run(['true']);
    const before = acceptedLogins();
    await runner.close();
    await runner.close();
    expect((await runner.run(['echo', 'again'])).stdout).toBe('again\n');
    expect(acceptedLogins() - before).toBe(1);
  });

  test('maxChannels and killAfterSeconds must be positive', () => {
    expect(() => new SshRunner({ ...sshd.runnerOptions(), maxChannels: 0 })).toThrow(/maxChannels/);
    expect(() => new SshRunner({ ...sshd.runnerOptions(), maxChannels: 1.5 })).toThrow(/maxChannels/);
    expect(() => new SshRunner({ ...sshd.runnerOptions(), killAfterSeconds: -1 })).toThrow(
      /killAfterSeconds/,
    );
  });
});

describe('~/.ssh/config', () => {
  test('HostName, Port, User and IdentityFile for an alias are honoured', async () => {
    const config = join(dir, 'ssh_config');
    writeFileSync(
      config,
      `Host hv-*\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.identityFile}\n`,
    );
    const runner = new SshRunner({
      host: 'hv-07',
      sshConfigFile: config,
      knownHostsFile: sshd.knownHostsFile,
    });
    runners.push(runner);
    const result = await runner.run(['id', '-un']);
    expect(result.stdout).toBe(`${sshd.user}\n`);
    expect(result.host).toBe('hv-07');
  });
});
