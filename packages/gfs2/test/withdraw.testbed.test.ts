import { randomInt } from 'node:crypto';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertOnGfs2, detectWithdrawn } from '../src/gfs2-check.js';
import { vmDirLocation } from '../src/paths.js';
import { ensureVmDir } from '../src/vm-dir.js';
import { refusal } from './helpers.js';

// A real withdraw on the qemu testbed: a small GFS2 of its own (lock_nolock, one journal) on an LV
// of the shared VG, mounted on host 1 only, withdrawn through sysfs as an administrator would
// (`echo 1 > /sys/fs/gfs2/<table>/withdraw`). The cluster's own GFS2 is never touched.
const id = randomInt(1_000_000);
const lv = `lv-gfs2test-withdraw-${id}`;
const mountPoint = `/var/tmp/gfs2test-withdraw-${id}`;
let cluster: Cluster;
let root: Runner;
let vg: string;

beforeAll(async () => {
  cluster = await attach();
  const host = cluster.hosts[0];
  if (!host) throw new Error('testbed has no host');
  root = host.runner('root');
  vg = cluster.sharedVg;
  const device = `/dev/${vg}/${lv}`;
  await root.run(['lvcreate', '-y', '-n', lv, '-L', '64M', vg], { timeoutMs: 120_000 });
  await root.run(['mkfs.gfs2', '-O', '-p', 'lock_nolock', '-j', '1', '-J', '8', device], {
    timeoutMs: 300_000,
  });
  await root.run(['mkdir', '-p', '--', `${mountPoint}/datastores`]);
  await root.run(['mount', '-t', 'gfs2', '-o', 'lockproto=lock_nolock', device, `${mountPoint}/datastores`]);
  await root.run(['mkdir', '--', `${mountPoint}/datastores/100`]);
}, 600_000);

afterAll(async () => {
  if (!root) return;
  await root.run(['umount', '--', `${mountPoint}/datastores`], { reject: false, timeoutMs: 120_000 });
  await root.run(['rm', '-r', '-f', '--one-file-system', '--', mountPoint], { reject: false });
  await root.run(['lvremove', '-y', `${vg}/${lv}`], { reject: false, timeoutMs: 120_000 });
  await cluster.close();
}, 300_000);

describe('a withdrawn GFS2', () => {
  it('is detected through sysfs, and no VM dir is made on it', async () => {
    const datastores = `${mountPoint}/datastores`;
    const before = await detectWithdrawn(root, datastores);
    expect(before).toMatchObject({ withdrawn: false });
    expect(before.mount.fstype).toBe('gfs2');
    const table = before.lockTable;
    if (table === undefined) throw new Error(`no /sys/fs/gfs2 entry for ${before.mount.majMin}`);
    await expect(assertOnGfs2(root, `${datastores}/100`)).resolves.toMatchObject({ lockTable: table });

    await root.run(['tee', '--', `/sys/fs/gfs2/${table}/withdraw`], { stdin: '1\n', timeoutMs: 120_000 });

    await expect(detectWithdrawn(root, datastores)).resolves.toMatchObject({
      withdrawn: true,
      lockTable: table,
    });
    const error = await refusal(assertOnGfs2(root, `${datastores}/100`));
    expect(error.code).toBe('WITHDRAWN');
    // statfs fails with EIO on a withdrawn GFS2 (kernel 6.1); sysfs then names the cause.
    expect(error.message).toBe(`GFS2 withdrawn: ${datastores} on node1 (lock table ${table})`);
    const refused = await refusal(ensureVmDir(root, vmDirLocation(datastores, 100, 7)));
    expect(refused.code).toBe('WITHDRAWN');
  }, 300_000);
});
