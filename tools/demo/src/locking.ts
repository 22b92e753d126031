import type { Cluster } from '@one-gfs2clvm/testbed';
import { expectExit, hostStep, type Narrator } from './narrator.js';

/**
 * Part 1 of the demo (moved here from tools/testbed): clustered LVM's lock modes and GFS2, with
 * plain LVM commands on the hosts. An LV created on node1 (exclusive), node2 refused, the lock
 * converted to shared in place and the LV active on both (what live migration needs), deactivation
 * and removal; GFS2 on every host, a file written on node1 read on node2.
 */
export async function narrateLocking(n: Narrator, cluster: Cluster, lv = 'lv-one-demo-800'): Promise<void> {
  const vg = cluster.sharedVg;
  const path = `${vg}/${lv}`;
  const step = (host: string, argv: string[], user: 'root' | 'oneadmin' = 'root') =>
    hostStep(n, cluster, host, argv, user);

  // A leftover of an interrupted run on a reused cluster would make lvcreate fail.
  await cluster.host('node2').runner('root').run(['lvchange', '-an', path], { reject: false });
  await cluster.host('node1').runner('root').run(['lvremove', '-y', path], { reject: false });

  n.say('— a VM disk: an LV of the shared VG, created on node1 (activated exclusively: lock held by node1)');
  expectExit(await step('node1', ['lvcreate', '--yes', '--name', lv, '--size', '64m', vg]), 0, 'lvcreate');
  await step('node1', ['lvs', '-o', 'lv_name,lv_size,lv_attr,lv_active_exclusively', path]);

  n.say('— node2 asks for the same LV exclusively: sanlock refuses, the VM cannot start twice');
  expectExit(await step('node2', ['lvchange', '--activate', 'ey', path]), 5, 'refusal on node2');

  n.say('— live migration: node1 converts its lock to shared in place, node2 activates shared too');
  expectExit(await step('node1', ['lvchange', '--activate', 'sy', path]), 0, 'shared on node1');
  expectExit(await step('node2', ['lvchange', '--activate', 'sy', path]), 0, 'shared on node2');
  for (const host of ['node1', 'node2']) {
    await step(host, ['lvs', '--noheadings', '-o', 'lv_name,lv_active,lv_active_locally', path]);
  }

  n.say('— deactivation on both hosts, then removal');
  expectExit(await step('node1', ['lvchange', '--activate', 'n', path]), 0, 'deactivate node1');
  expectExit(await step('node2', ['lvchange', '--activate', 'n', path]), 0, 'deactivate node2');
  expectExit(await step('node1', ['lvremove', '--yes', path]), 0, 'lvremove');

  n.say(`— GFS2 at ${cluster.datastores}, mounted on ${cluster.gfs2Hosts.join(' and ')}`);
  for (const host of cluster.gfs2Hosts) {
    await step(host, ['stat', '-f', '-c', '%T', cluster.datastores], 'oneadmin');
  }
  const file = `${cluster.datastores}/demo-${lv}`;
  await cluster
    .host('node1')
    .runner('oneadmin')
    .run(['tee', file], { stdin: 'deployment file written on node1\n' });
  n.say(`oneadmin@node1$ echo 'deployment file written on node1' > ${file}`);
  const read = await step(cluster.gfs2Hosts.at(-1) ?? 'node1', ['cat', file], 'oneadmin');
  expectExit(read, 0, 'read on the other host');
  await step('node1', ['rm', '-f', file], 'oneadmin');
}
