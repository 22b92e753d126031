import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attach, type Cluster } from '../src/index.js';
import { workspaceDir } from '../src/paths.js';

// The shared cluster of the test run (booted by src/vitest-setup.ts). Nothing here disturbs it:
// fault injection runs on a cluster of its own (faults.testbed.test.ts).
const run = Date.now().toString(36).slice(-5);
let cluster: Cluster;
let node1: Runner;
let node2: Runner;

async function sh(runner: Runner, argv: string[]) {
  return runner.run(argv, { reject: false, timeoutMs: 180_000 });
}

beforeAll(async () => {
  cluster = await attach();
  expect(cluster.hosts.length).toBeGreaterThanOrEqual(2);
  node1 = cluster.host('node1').runner();
  node2 = cluster.host('node2').runner();
});

afterAll(async () => {
  await cluster?.close();
});

describe('the emulated hosts', () => {
  it('are node1…nodeN, reachable as root and oneadmin with strict host keys', async () => {
    for (const host of cluster.hosts) {
      expect((await sh(host.runner(), ['hostname'])).stdout.trim()).toBe(host.name);
      const who = await sh(host.runner('oneadmin'), ['sh', '-c', 'id -un; echo $HOME']);
      expect(who.stdout.trim().split('\n')).toEqual(['oneadmin', '/var/lib/one']);
    }
  });

  it('refuse a client that does not trust their host key (strict checking is on)', async () => {
    const host = cluster.host('node1');
    const { SshRunner } = await import('@one-gfs2clvm/ssh-remote');
    const stranger = new SshRunner({
      host: 'node1',
      hostname: '127.0.0.1',
      port: host.sshPort,
      user: 'root',
      identityFiles: [host.identityFile],
      knownHostsFile: '/dev/null',
      sshConfigFile: '/dev/null',
    });
    await expect(stranger.run(['true'])).rejects.toMatchObject({ code: 'HOST_KEY_UNKNOWN' });
    await stranger.close();
  });

  it('see the repository at its own path, as oneadmin too, also when it lies under /tmp (a CI clone)', async () => {
    // The guests' /tmp and /root are their own tmpfs: without the `workspace` share a clone there is
    // invisible on the hosts, and every test that runs the repository's files on a host fails.
    for (const host of cluster.hosts) {
      const seen = await sh(host.runner('oneadmin'), ['cat', join(workspaceDir, 'pnpm-workspace.yaml')]);
      expect(seen.stdout).toBe(readFileSync(join(workspaceDir, 'pnpm-workspace.yaml'), 'utf8'));
    }
  });

  it('give sudo to root and run the machine’s lvm2 with lvmlockd (host_id = host index)', async () => {
    expect((await sh(node1, ['sudo', '-n', 'true'])).exitCode).toBe(0);
    const local = await sh(node2, ['lvmconfig', '--type', 'full', 'local/host_id', 'global/use_lvmlockd']);
    expect(local.stdout).toContain('host_id=2');
    expect(local.stdout).toContain('use_lvmlockd=1');
  });
});

describe('the shared VG on the LUN', () => {
  it('is shared (sanlock, or dlm when asked) and its lockspace is started on every host', async () => {
    for (const host of cluster.hosts) {
      const vgs = await sh(host.runner(), [
        'vgs',
        '--noheadings',
        '-o',
        'vg_name,vg_lock_type',
        cluster.sharedVg,
      ]);
      expect(vgs.exitCode, vgs.stderr).toBe(0);
      expect(vgs.stdout.trim().split(/\s+/)).toEqual(['vg-one-100', cluster.lockType]);
    }
  });

  it('refuses an exclusive activation on node2 while node1 holds the LV (LV locked by other host)', async () => {
    const lv = `${cluster.sharedVg}/lv-one-tb${run}-lock`;
    const name = lv.split('/')[1] as string;
    expect((await sh(node1, ['lvcreate', '-y', '-n', name, '-L', '16m', cluster.sharedVg])).exitCode).toBe(0);
    try {
      const refused = await sh(node2, ['lvchange', '-aey', lv]);
      expect(refused.exitCode).toBe(5);
      expect(refused.stderr).toContain('LV locked by other host');
      // The live-migration handover: exclusive → shared in place on node1, shared on node2, back.
      expect((await sh(node1, ['lvchange', '-asy', lv])).exitCode).toBe(0);
      expect((await sh(node2, ['lvchange', '-asy', lv])).exitCode).toBe(0);
      for (const r of [node1, node2]) {
        expect((await sh(r, ['lvs', '--noheadings', '-o', 'lv_active', lv])).stdout.trim()).toBe('active');
      }
      expect((await sh(node1, ['lvchange', '-an', lv])).exitCode).toBe(0);
      expect((await sh(node2, ['lvchange', '-aey', lv])).exitCode).toBe(0);
      expect((await sh(node2, ['lvchange', '-an', lv])).exitCode).toBe(0);
    } finally {
      await sh(node2, ['lvchange', '-an', lv]);
      await sh(node1, ['lvremove', '-y', lv]);
    }
  });

  it('lets a udev rule installed in a host make a new LV owned by oneadmin', async () => {
    const rule = '/etc/udev/rules.d/90-testbed-oneadmin.rules';
    const lv = `lv-one-tb${run}-udev`;
    const written = await node1.run(['tee', rule], {
      stdin: 'ENV{DM_NAME}=="vg--one--100-lv--one--*", OWNER="oneadmin", GROUP="oneadmin", MODE="0660"\n',
    });
    expect(written.exitCode).toBe(0);
    try {
      await node1.run(['udevadm', 'control', '--reload']);
      expect((await sh(node1, ['lvcreate', '-y', '-n', lv, '-L', '16m', cluster.sharedVg])).exitCode).toBe(0);
      await node1.run(['udevadm', 'settle']);
      const owner = await sh(node1, ['stat', '-L', '-c', '%U:%G %a', `/dev/${cluster.sharedVg}/${lv}`]);
      expect(owner.stdout.trim()).toBe('oneadmin:oneadmin 660');
    } finally {
      await sh(node1, ['lvremove', '-y', `${cluster.sharedVg}/${lv}`]);
      await sh(node1, ['rm', '-f', rule]);
      await sh(node1, ['udevadm', 'control', '--reload']);
    }
  });
});

describe('the plain VG (lock mode none)', () => {
  it('has no lock type, and nothing stops two hosts activating one LV (the hazard of mode none)', async () => {
    if (!cluster.plainVg) return expect(cluster.plainVg).toBeUndefined();
    const vg = cluster.plainVg;
    const lv = `${vg}/lv-one-tb${run}-plain`;
    const lock = await sh(node2, ['vgs', '--noheadings', '-o', 'vg_lock_type', vg]);
    expect(lock.exitCode, lock.stderr).toBe(0);
    expect(lock.stdout.trim()).toBe('');
    expect(
      (await sh(node1, ['lvcreate', '-y', '-n', lv.split('/')[1] as string, '-L', '8m', vg])).exitCode,
    ).toBe(0);
    try {
      expect((await sh(node2, ['lvchange', '-ay', lv])).exitCode).toBe(0);
      for (const r of [node1, node2]) {
        expect((await sh(r, ['lvs', '--noheadings', '-o', 'lv_active', lv])).stdout.trim()).toBe('active');
      }
    } finally {
      await sh(node2, ['lvchange', '-an', lv]);
      await sh(node1, ['lvremove', '-y', lv]);
    }
  });
});

describe('GFS2 at the datastores folder', () => {
  it('is GFS2 (stat -f) on every host that mounts it, owned by oneadmin', async () => {
    expect(cluster.gfs2Hosts.length).toBeGreaterThan(0);
    for (const name of cluster.gfs2Hosts) {
      const fs = await sh(cluster.host(name).runner(), ['stat', '-f', '-c', '%T', cluster.datastores]);
      expect(fs.stdout.trim()).toBe('gfs/gfs2');
      const owner = await sh(cluster.host(name).runner(), ['stat', '-c', '%U', cluster.datastores]);
      expect(owner.stdout.trim()).toBe('oneadmin');
    }
  });

  it('shows a file and a symlink written on node1 to node2 at once (lock_dlm)', async () => {
    if (cluster.gfs2 !== 'dlm') return expect(cluster.gfs2Hosts).toEqual(['node1']);
    const file = `${cluster.datastores}/tb-${run}`;
    const oneadmin1 = cluster.host('node1').runner('oneadmin');
    await oneadmin1.run(['tee', file], { stdin: 'written on node1\n' });
    await oneadmin1.run(['ln', '-s', file, `${file}.link`]);
    try {
      const read = await sh(cluster.host('node2').runner('oneadmin'), ['cat', `${file}.link`]);
      expect(read.stdout).toBe('written on node1\n');
    } finally {
      await sh(oneadmin1, ['rm', '-f', file, `${file}.link`]);
    }
  });
});
