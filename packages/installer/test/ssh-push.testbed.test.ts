import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetPath } from '../src/assets.js';
import { CLI, giveQemuConf, HELPER, hostRoleInstalled, hostState } from './testbed-host.js';

// The front-end way: hosts have no Node.js, so the CLI runs here and works on the first emulated
// host over SSH (strict host keys against the testbed's known_hosts), through sh and coreutils only.
const run = promisify(execFile);
let cluster: Cluster;
let root: Runner;
let oneadmin: Runner;
let host: string;
let vg: string;
let sshFlags: string[];
let scratch: string;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args, ...sshFlags], { timeout: 280_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  cluster = await attach();
  const first = cluster.hosts[0];
  if (!first) throw new Error('testbed has no host');
  host = first.name;
  vg = cluster.sharedVg;
  root = first.runner('root');
  oneadmin = first.runner('oneadmin');
  scratch = mkdtempSync(join(tmpdir(), 'one-gfs2clvm-ssh-'));
  const config = join(scratch, 'ssh_config');
  writeFileSync(
    config,
    `Host ${host}\n  HostName 127.0.0.1\n  Port ${first.sshPort}\n  User root\n  IdentityFile ${first.identityFile}\n`,
  );
  sshFlags = ['--ssh', host, '--ssh-config', config, '--known-hosts', first.knownHostsFile];
  // The one-tm suites lay the host role down on the shared cluster: start from a host without it.
  if (await hostRoleInstalled(root)) {
    const cleared = await cli('uninstall');
    if (cleared.code !== 0) throw new Error(`uninstall before the test failed: ${cleared.stderr}`);
  }
  await giveQemuConf(root);
}, 300_000);

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await Promise.all([root?.close(), oneadmin?.close()]);
});

describe('install --role host --ssh from the front-end', () => {
  let before: string;

  it('--dry-run prints the diffs for the host and changes nothing there', async () => {
    before = await hostState(root);
    const result = await cli('install', '--role', 'host', '--dry-run');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${host}: --- a/etc/sudoers.d/one-gfs2clvm`);
    expect(result.stdout).toContain(`${host}: would run: udevadm control --reload`);
    expect(result.stdout).toContain(`${host}: dry run: would change 7 file(s)`);
    expect(await hostState(root)).toBe(before);
  });

  it('installs over SSH; the helper is byte for byte the packaged one; a second run changes nothing', async () => {
    const result = await cli('install', '--role', 'host');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${host}: installed /etc/sudoers.d/one-gfs2clvm`);
    expect(result.stdout).toContain(`${host}: ran: udevadm settle --timeout=60`);
    const remote = await root.run(['cat', HELPER]);
    expect(remote.stdout).toBe(readFileSync(assetPath('one-gfs2clvm-helper'), 'utf8'));
    expect((await root.run(['visudo', '-c'], { reject: false })).exitCode).toBe(0);
    const report = await oneadmin.run(['sudo', '-n', HELPER, 'report', 'vgs', vg], { reject: false });
    expect(report.exitCode).toBe(0);
    const installed = await hostState(root);
    const again = await cli('install', '--role', 'host');
    expect(again.stdout).toContain(`${host}: changed 0 file(s)`);
    expect(await hostState(root)).toBe(installed);
  });

  it('doctor --ssh checks the host, including a test LV made through the helper', async () => {
    const result = await cli('doctor', '--test-lv', vg);
    expect(result.stdout).toMatch(new RegExp(`^${host}: OK {3}sudo: oneadmin may run the helper`, 'm'));
    expect(result.stdout).toMatch(
      new RegExp(`^${host}: OK {3}udev rule: a new LV is owned by oneadmin:oneadmin`, 'm'),
    );
    expect(result.stdout).toMatch(new RegExp(`^${host}: OK {3}GFS2: `, 'm'));
  });

  it('uninstall --ssh leaves the host as it was', async () => {
    const result = await cli('uninstall');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await hostState(root)).toBe(before);
  });

  it('refuses a host whose key does not match, with one line, changing nothing', async () => {
    const wrong = join(scratch, 'known_hosts');
    const port = cluster.hosts[0]?.sshPort;
    writeFileSync(
      wrong,
      `[127.0.0.1]:${port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgTnoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n`,
    );
    const flags = sshFlags.map((f, i) => (sshFlags[i - 1] === '--known-hosts' ? wrong : f));
    const { stdout, stderr } = await run(process.execPath, [
      CLI,
      'install',
      '--role',
      'host',
      ...flags,
    ]).catch((e: { stdout: string; stderr: string }) => e);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^one-gfs2clvm: .*host key/i);
    expect(stdout).toBe('');
    expect(await hostState(root)).toBe(before);
  });
});
