import { randomInt } from 'node:crypto';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertOnGfs2, detectWithdrawn } from '../src/gfs2-check.js';
import { diskLocation, vmDirLocation } from '../src/paths.js';
import { probeImage } from '../src/probe-image.js';
import { checkPathAllowed } from '../src/restricted-dirs.js';
import {
  ensureVmDir,
  ensureVmDirAndLink,
  linkDisk,
  readDiskLink,
  removeDiskLink,
  removeVmDir,
} from '../src/vm-dir.js';
import { refusal } from './helpers.js';

// Real GFS2 on the qemu testbed (tools/testbed): the hosts mount one GFS2 at
// /var/lib/one/datastores. Everything a test creates carries a random id, so that the suites of
// other packages sharing the cluster are not disturbed, and is removed again as root.
let cluster: Cluster;
let node1: Runner;
/** oneadmin on the second host, when the GFS2 is mounted there too (lock_dlm). */
let node2: Runner | undefined;
let root1: Runner;
const dsId = 9000 + randomInt(900);
let dsDir: string;

beforeAll(async () => {
  cluster = await attach();
  const [first, second] = cluster.hosts;
  if (!first || !cluster.gfs2Hosts.includes(first.name)) {
    throw new Error(`the testbed mounts no GFS2 on its first host (gfs2: ${cluster.gfs2})`);
  }
  node1 = first.runner('oneadmin');
  root1 = first.runner('root');
  node2 = second && cluster.gfs2Hosts.includes(second.name) ? second.runner('oneadmin') : undefined;
  dsDir = `${cluster.datastores}/${dsId}`;
  // The system datastore dir exists before any VM dir, as on a real cluster.
  await root1.run(['mkdir', '--', dsDir]);
  await root1.run(['chown', 'oneadmin:oneadmin', '--', dsDir]);
}, 120_000);

afterAll(async () => {
  await root1?.run(['rm', '-r', '-f', '--one-file-system', '--', dsDir]);
  await cluster?.close();
});

describe('GFS2 detection on the testbed', () => {
  it('finds a healthy, writable GFS2 at the datastores dir', async () => {
    const status = await assertOnGfs2(node1, dsDir);
    expect(status.mount).toMatchObject({ fstype: 'gfs2', target: cluster.datastores });
    expect(status.lockTable).toMatch(/\S/);
    expect(status.readOnly).toBe(false);
    await expect(detectWithdrawn(node1, dsDir)).resolves.toMatchObject({ withdrawn: false });
  });

  it("refuses paths on the guest's root (overlay) and on a tmpfs, naming the type", async () => {
    const overlay = await refusal(assertOnGfs2(node1, '/var/tmp'));
    expect(overlay.code).toBe('NOT_GFS2');
    expect(overlay.message).toBe('not GFS2: /var/tmp on node1 is on overlayfs');
    const tmpfs = await refusal(assertOnGfs2(node1, '/tmp'));
    expect(tmpfs.message).toBe('not GFS2: /tmp on node1 is on tmpfs');
  });

  it('refuses an unmounted datastore location and writes nothing there', async () => {
    // What a host whose GFS2 did not mount looks like: the mount point is an empty dir on root.
    const unmounted = `/var/tmp/gfs2-unmounted-${dsId}/datastores`;
    await root1.run(['mkdir', '-p', '--', unmounted]);
    await root1.run(['chown', '-R', 'oneadmin:oneadmin', '--', `/var/tmp/gfs2-unmounted-${dsId}`]);
    try {
      const error = await refusal(ensureVmDir(node1, vmDirLocation(unmounted, 100, 7)));
      expect(error.code).toBe('NOT_GFS2');
      expect(error.message).toBe(`GFS2 not mounted? ${unmounted}/100 missing on node1`);
      // Even when someone created the datastore dir on the root disk, nothing goes into it.
      await root1.run(['mkdir', '--', `${unmounted}/100`]);
      expect((await refusal(ensureVmDir(node1, vmDirLocation(unmounted, 100, 7)))).code).toBe('NOT_GFS2');
      const left = await root1.run(['find', unmounted, '-mindepth', '1']);
      expect(left.stdout.trim()).toBe(`${unmounted}/100`);
    } finally {
      await root1.run(['rm', '-r', '-f', '--', `/var/tmp/gfs2-unmounted-${dsId}`]);
    }
  });
});

describe('VM dir and disk links on the shared GFS2', () => {
  it('makes the VM dir and disk.N on one host; the other host sees them at once', async (context) => {
    const vmDir = vmDirLocation(cluster.datastores, dsId, 7);
    const disk = diskLocation(vmDir, 0);
    await expect(ensureVmDir(node1, vmDir)).resolves.toBe(`${dsDir}/7`);
    await expect(ensureVmDir(node1, vmDir)).resolves.toBe(`${dsDir}/7`); // again: success
    await linkDisk(node1, disk, '/dev/vg-one-100/lv-one-7-0');
    await expect(readDiskLink(node1, disk)).resolves.toEqual({
      type: 'symlink',
      target: '/dev/vg-one-100/lv-one-7-0',
    });
    const other = node2;
    if (!other) {
      context.skip(`only ${cluster.gfs2Hosts.join(', ')} mount the GFS2 (gfs2: ${cluster.gfs2}, not dlm)`);
      return;
    }
    await expect(readDiskLink(other, disk)).resolves.toEqual({
      type: 'symlink',
      target: '/dev/vg-one-100/lv-one-7-0',
    });
    await linkDisk(other, disk, '/dev/vg-one-100/lv-one-7-0-moved');
    await expect(readDiskLink(node1, disk)).resolves.toEqual({
      type: 'symlink',
      target: '/dev/vg-one-100/lv-one-7-0-moved',
    });
    await removeDiskLink(node1, disk);
    await expect(readDiskLink(other, disk)).resolves.toEqual({ type: 'missing' });
    await removeVmDir(other, vmDir);
    await removeVmDir(other, vmDir); // missing is success
    const seen = await node1.run(['ls', '-A', '--', dsDir]);
    expect(seen.stdout).toBe('');
  });

  it('removeVmDir removes a VM dir with its links and files, not what the links point to', async () => {
    const vmDir = vmDirLocation(cluster.datastores, dsId, 8);
    await ensureVmDir(node1, vmDir);
    await node1.run(['sh', '-c', 'echo x > "$1"/deployment.0', 'sh', vmDir.vmDir]);
    await linkDisk(node1, diskLocation(vmDir, 0), '/dev/vg-one-100/lv-one-8-0');
    await node1.run(['ln', '-s', '--', '/etc', `${vmDir.vmDir}/etc-link`]);
    await removeVmDir(node1, vmDir);
    const gone = await node1.run(['test', '-e', vmDir.vmDir], { reject: false });
    expect(gone.exitCode).toBe(1);
    const etc = await node1.run(['test', '-d', '/etc/ssh']);
    expect(etc.exitCode).toBe(0);
  });
});

describe("the system datastore dir at a VM's first prolog (ids 3400-3403)", () => {
  // OpenNebula's own drivers create <DATASTORE_LOCATION>/<sysds> at the first prolog; so does
  // ensureVmDir, but only where DATASTORE_LOCATION itself is the GFS2 mount.
  const made = () => [3400, 3402].map((id) => `${cluster.datastores}/${id}`);
  afterAll(async () => {
    if (root1) await root1.run(['rm', '-r', '-f', '--one-file-system', '--', ...made()]);
  });

  it('creates the missing datastore dir (as oneadmin) when its parent is the GFS2 mount', async () => {
    await root1.run(['rm', '-r', '-f', '--one-file-system', '--', ...made()]);
    const vmDir = vmDirLocation(cluster.datastores, 3400, 3401);
    await expect(ensureVmDir(node1, vmDir)).resolves.toBe(`${cluster.datastores}/3400/3401`);
    const owner = await root1.run(['stat', '-c', '%U %F', '--', vmDir.dsDir, vmDir.vmDir]);
    expect(owner.stdout).toBe('oneadmin directory\noneadmin directory\n');
    // ensureVmDirAndLink (one-tm ln) too, with the datastore dir missing
    const disk = diskLocation(vmDirLocation(cluster.datastores, 3402, 3401), 0);
    await ensureVmDirAndLink(node2 ?? node1, disk, '/dev/vg-one-100/lv-oneimg-3401');
    await expect(readDiskLink(node1, disk)).resolves.toEqual({
      type: 'symlink',
      target: '/dev/vg-one-100/lv-oneimg-3401',
    });
  });

  it('keeps refusing where the parent is a directory on GFS2 but not the mount, creating nothing', async () => {
    const location = `${dsDir}/3403`;
    await root1.run(['mkdir', '--', location]);
    await root1.run(['chown', 'oneadmin:oneadmin', '--', location]);
    const error = await refusal(ensureVmDir(node1, vmDirLocation(location, 100, 3401)));
    expect(error.code).toBe('NOT_GFS2');
    expect(error.message).toBe(`GFS2 not mounted? ${location}/100 missing on node1`);
    expect((await root1.run(['ls', '-A', '--', location])).stdout).toBe('');
  });
});

describe('RESTRICTED_DIRS and image probing on a host', () => {
  it('resolves a symlink on GFS2 on the host and refuses where it leads', async () => {
    const link = `${dsDir}/innocent.img`;
    await node1.run(['ln', '-s', '--', '/etc/ssh/ssh_host_ed25519_key', link]);
    const error = await refusal(checkPathAllowed(node1, link, { restrictedDirs: '/etc/ssh' }));
    expect(error.code).toBe('RESTRICTED');
    expect(error.message).toBe(`path restricted: "${link}" resolves into /etc/ssh on node1`);
  });

  it('probes images over SSH with the real qemu-img of the host and refuses a backing file', async () => {
    const good = `${dsDir}/good.qcow2`;
    const bad = `${dsDir}/bad.qcow2`;
    await node1.run(['qemu-img', 'create', '-q', '-f', 'qcow2', good, '16M']);
    await node1.run([
      'qemu-img',
      'create',
      '-q',
      '-f',
      'qcow2',
      '-F',
      'raw',
      '-b',
      '/etc/shadow',
      '-u',
      bad,
      '1M',
    ]);
    await expect(probeImage(node1, good)).resolves.toMatchObject({
      format: 'qcow2',
      virtualSize: 16 * 1024 * 1024,
    });
    const error = await refusal(probeImage(node1, bad));
    expect(error.code).toBe('UNSAFE_IMAGE');
    expect(error.message).toBe(`unsafe image: backing file "/etc/shadow" in "${bad}" on node1`);
  });
});
