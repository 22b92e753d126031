import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { frontendDoctor } from '../src/doctor/frontend.js';
import { driverSshSettings, sshCheckArgv, sshFailureFix } from '../src/doctor/ssh.js';
import type { Exec } from '../src/exec.js';
import { LocalTarget } from '../src/target.js';

describe('the front-end SSH check', () => {
  it("reads the driver's SSH settings as driver-runtime does (quotes, comments, other keys ignored)", () => {
    const settings = driverSshSettings(
      [
        '# SSH_USER=nobody',
        'SSH_USER=root',
        'SSH_CONFIG="/etc/one/ssh_config"',
        "SSH_KNOWN_HOSTS='/var/lib/one/.ssh/known_hosts'",
        'SSH_IDENTITY=/k/a, /k/b',
        'SSH_CONNECT_TIMEOUT=7',
        'LVM_BACKEND=helper',
        '',
      ].join('\n'),
    );
    expect(settings).toEqual({
      user: 'root',
      config: '/etc/one/ssh_config',
      knownHosts: '/var/lib/one/.ssh/known_hosts',
      identities: ['/k/a', '/k/b'],
      hostKeyPolicy: 'strict',
      connectTimeoutSeconds: 7,
    });
    expect(sshCheckArgv('node1', settings)).toEqual([
      'ssh',
      '-F',
      '/etc/one/ssh_config',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'UserKnownHostsFile=/var/lib/one/.ssh/known_hosts',
      '-o',
      'ConnectTimeout=7',
      '-i',
      '/k/a',
      '-i',
      '/k/b',
      '-l',
      'root',
      '--',
      'node1',
      'true',
    ]);
    expect(sshCheckArgv('-oProxyCommand=x', driverSshSettings(''))).toEqual([
      'ssh',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'ConnectTimeout=20',
      '--',
      '-oProxyCommand=x',
      'true',
    ]);
  });

  it('refuses SSH values the driver would refuse, with one line', () => {
    expect(() => driverSshSettings('SSH_CONFIG=relative/path\n')).toThrow(
      /^SSH_CONFIG=relative\/path: not an absolute path$/,
    );
    expect(() => driverSshSettings('SSH_HOST_KEY_POLICY=maybe\n')).toThrow(/not one of strict/);
    expect(() => driverSshSettings('SSH_CONNECT_TIMEOUT=0\n')).toThrow(/not a positive integer/);
  });

  it('says what to do for each way OpenSSH fails', () => {
    const fix = (stderr: string) => sshFailureFix(stderr, 'node1', 'oneadmin');
    expect(fix('Host key verification failed.\n')).toMatch(/^check node1's host key fingerprint/);
    expect(fix('oneadmin@node1: Permission denied (publickey).\n')).toMatch(/ssh-copy-id node1/);
    expect(fix('ssh: Could not resolve hostname node1: Name or service not known\n')).toMatch(/resolvable/);
    expect(fix('ssh: connect to host 127.0.0.1 port 1: Connection refused\n')).toMatch(/sshd runs there/);
    expect(fix('something else\n')).toBe('as oneadmin, run ssh node1 true and fix what it says');
  });

  it('a driver config doctor cannot read is a FAIL line, and no host is tried', async () => {
    const root = mkdtempSync(join(tmpdir(), 'one-gfs2clvm-doctor-'));
    try {
      mkdirSync(join(root, 'var/lib/one/remotes/etc/tm/gfs2clvm'), { recursive: true });
      writeFileSync(
        join(root, 'var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf'),
        'SSH_CONFIG=~/.ssh/config\n',
      );
      const ran: string[][] = [];
      const exec: Exec = async (argv) => {
        ran.push([...argv]);
        return { exitCode: 0, stdout: '', stderr: '' };
      };
      const results = await frontendDoctor({
        target: new LocalTarget(root, exec),
        user: 'oneadmin',
        hosts: ['node1'],
      });
      expect(results.at(-1)).toEqual({
        status: 'FAIL',
        name: 'driver config',
        detail:
          '/var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf: SSH_CONFIG=~/.ssh/config: not an absolute path',
        fix: 'fix that line; the driver refuses to run with it',
      });
      // Only the local Node.js check ran: no host was tried.
      expect(ran.filter((argv) => argv.includes('ssh'))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
