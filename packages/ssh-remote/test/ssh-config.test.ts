import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { RemoteError, resolveTarget } from '../src/index.js';
import { thrown } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-remote-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'config');
writeFileSync(
  config,
  [
    '# what an OpenNebula admin writes for oneadmin',
    'Host node1',
    '  HostName 10.0.0.11',
    '  Port 2201',
    '  User oneadmin',
    '  IdentityFile ~/.ssh/id_one',
    '  IdentityFile /etc/one/keys/%r@%n',
    'host node2',
    '  hostname=%h.cluster.lan',
    'Match exec "touch /tmp/ssh-remote-match-exec"',
    '  User evil',
    'Host *',
    '  User fallback',
    '  Port 22',
    '',
  ].join('\n'),
);

describe('resolveTarget', () => {
  test('HostName, Port, User and IdentityFile come from the config, with ~ and % tokens expanded', () => {
    expect(resolveTarget({ host: 'node1', sshConfigFile: config })).toEqual({
      host: 'node1',
      hostname: '10.0.0.11',
      port: 2201,
      user: 'oneadmin',
      identityFiles: [join(homedir(), '.ssh/id_one'), '/etc/one/keys/oneadmin@node1'],
    });
  });

  test('lower-case keywords, "=" separators and %h work; Host * fills the gaps; Match exec is never run', () => {
    const target = resolveTarget({ host: 'node2', sshConfigFile: config });
    expect(target).toMatchObject({ hostname: 'node2.cluster.lan', port: 22, user: 'fallback' });
    expect(existsSync('/tmp/ssh-remote-match-exec')).toBe(false);
  });

  test('explicit options win over the config', () => {
    const target = resolveTarget({
      host: 'node1',
      sshConfigFile: config,
      hostname: '127.0.0.1',
      port: 2299,
      user: 'root',
      identityFiles: ['/k'],
    });
    expect(target).toEqual({
      host: 'node1',
      hostname: '127.0.0.1',
      port: 2299,
      user: 'root',
      identityFiles: ['/k'],
    });
  });

  test('without a config file: the alias, port 22, the local user, the default key files', () => {
    const target = resolveTarget({ host: 'node3', sshConfigFile: join(dir, 'missing') });
    expect(target).toEqual({
      host: 'node3',
      hostname: 'node3',
      port: 22,
      user: userInfo().username,
      identityFiles: ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f)),
    });
  });

  test('a bad port is an INVALID_ARGUMENT naming the host', () => {
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'Host node4\n  Port 70000\n');
    const err = thrown(() => resolveTarget({ host: 'node4', sshConfigFile: bad }));
    expect(RemoteError.isInstance(err) && err.code).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toMatch(/node4: invalid SSH port "70000"/);
  });
});
