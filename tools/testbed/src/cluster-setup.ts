import { setTimeout as sleep } from 'node:timers/promises';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { type Cluster, DATASTORES, type TestbedHost } from './cluster.js';
import { TestbedError } from './errors.js';
import { CLUSTER_NAME } from './guest-files.js';
import type { ResolvedOptions } from './options.js';

export const SHARED_VG = 'vg-one-100';
export const PLAIN_VG = 'vg-plain';
export const GFS2_LV = 'lv-gfs2';
/** The shared LUN and the plain disk, as the guests see them (virtio-blk in qemu's argv order). */
const SAN_DEVICE = '/dev/vda';
const PLAIN_DEVICE = '/dev/vdb';
const GFS2_LV_SIZE = '512m';
/** Joining a sanlock lockspace takes 20–60 s; under a loaded machine more. */
const LOCKSTART_TIMEOUT_MS = 300_000;

type Log = (line: string) => void;

async function run(host: TestbedHost, argv: string[], timeoutMs = 120_000): Promise<string> {
  const runner: Runner = host.runner();
  const result = await runner.run(argv, { reject: false, timeoutMs });
  if (result.exitCode !== 0) {
    const stderr = result.stderr.trim().split('\n').slice(-3).join(' / ');
    throw new TestbedError(
      'SETUP_FAILED',
      `${host.name}: ${argv.join(' ')} exited ${result.exitCode ?? result.signal}: ${stderr}`,
    );
  }
  return result.stdout;
}

/**
 * Makes the SAN usable: the shared VG on the LUN (its lockspace started on every host), the plain
 * VG if asked, and GFS2 at the datastores folder. Returns the hosts where GFS2 is mounted.
 */
export async function setUpStorage(cluster: Cluster, options: ResolvedOptions, log: Log): Promise<string[]> {
  const [first, ...others] = cluster.hosts;
  if (!first) return [];

  // A large metadata area: the drivers' tests create and remove many LVs. The lock type is named
  // because with corosync running lvm sees two lock managers and will not choose.
  const lockType = options.lockType;
  if (lockType === 'dlm')
    await Promise.all(cluster.hosts.map((h) => waitForDlmMembers(h, cluster.hosts.length)));
  await run(first, [
    'vgcreate',
    '--shared',
    '--lock-type',
    lockType,
    '--metadatasize',
    '64m',
    SHARED_VG,
    SAN_DEVICE,
  ]);
  log(`testbed: shared VG ${SHARED_VG} created on ${first.name} (lvmlockd + ${lockType})`);
  // A second host's first lockstart right after vgcreate was once refused with "start failed:
  // invalid parameters for sanlock" (a fresh clone's CI run, machine loaded by a second cluster):
  // a retry is harmless, lockstart of a started lockspace succeeds.
  await Promise.all(
    cluster.hosts.map((h) =>
      retry(() => run(h, ['vgchange', '--lockstart', SHARED_VG], LOCKSTART_TIMEOUT_MS), 3),
    ),
  );
  // The lockspace is usable once a locked command goes through on every host.
  await Promise.all(cluster.hosts.map((h) => run(h, ['lvs', SHARED_VG], LOCKSTART_TIMEOUT_MS)));
  log(`testbed: lockspace of ${SHARED_VG} started on ${cluster.hosts.map((h) => h.name).join(', ')}`);

  if (options.plainVg) {
    await run(first, ['vgcreate', '--metadatasize', '16m', PLAIN_VG, PLAIN_DEVICE]);
    log(`testbed: plain VG ${PLAIN_VG} created (no lvmlockd: lock mode none)`);
  }

  if (options.gfs2 === 'none') return [];
  const device = `/dev/${SHARED_VG}/${GFS2_LV}`;
  await run(first, ['lvcreate', '--yes', '--name', GFS2_LV, '--size', GFS2_LV_SIZE, SHARED_VG]);
  if (options.gfs2 === 'nolock') {
    await run(first, ['mkfs.gfs2', '-O', '-p', 'lock_nolock', '-j', '1', '-J', '16', device], 300_000);
    await run(first, ['mount', '-t', 'gfs2', '-o', 'noatime', device, DATASTORES]);
    await run(first, ['chown', 'oneadmin:oneadmin', DATASTORES]);
    log(`testbed: GFS2 (lock_nolock) mounted at ${DATASTORES} on ${first.name}`);
    return [first.name];
  }

  // lock_dlm: the LV active shared everywhere (the exclusive lock of lvcreate converted in place).
  await run(first, ['lvchange', '--activate', 'sy', device]);
  await Promise.all(
    others.map((h) => run(h, ['lvchange', '--activate', 'sy', device], LOCKSTART_TIMEOUT_MS)),
  );
  const journals = String(cluster.hosts.length);
  await run(
    first,
    [
      'mkfs.gfs2',
      '-O',
      '-p',
      'lock_dlm',
      '-t',
      `${CLUSTER_NAME}:datastores`,
      '-j',
      journals,
      '-J',
      '16',
      device,
    ],
    300_000,
  );
  await Promise.all(cluster.hosts.map((h) => waitForDlmMembers(h, cluster.hosts.length)));
  for (const host of cluster.hosts) {
    // The first mount in a fresh DLM lockspace may race membership: retry a few times.
    await retry(() => run(host, ['mount', '-t', 'gfs2', '-o', 'noatime', device, DATASTORES], 180_000), 5);
  }
  await run(first, ['chown', 'oneadmin:oneadmin', DATASTORES]);
  log(`testbed: GFS2 (lock_dlm) mounted at ${DATASTORES} on every host`);
  return cluster.hosts.map((h) => h.name);
}

/**
 * What a rebooted host does to use the SAN again: the shared VG's lockspace started (sanlock first
 * waits until the lease of the host's previous life has expired) and, over DLM, GFS2 mounted once
 * it has joined the membership of the hosts that are alive. A `lock_nolock` GFS2 is node1's only.
 */
export async function rejoinStorage(
  cluster: Cluster,
  host: TestbedHost,
  options: ResolvedOptions,
  log: Log,
): Promise<void> {
  await retry(() => run(host, ['vgchange', '--lockstart', SHARED_VG], LOCKSTART_TIMEOUT_MS), 3);
  await run(host, ['lvs', SHARED_VG], LOCKSTART_TIMEOUT_MS);
  log(`testbed: ${host.name}: lockspace of ${SHARED_VG} started`);
  const device = `/dev/${SHARED_VG}/${GFS2_LV}`;
  if (options.gfs2 === 'dlm') {
    await waitForDlmMembers(host, cluster.hosts.filter((h) => h.alive).length);
    await run(host, ['lvchange', '--activate', 'sy', device], LOCKSTART_TIMEOUT_MS);
  } else if (!(options.gfs2 === 'nolock' && host.index === 1)) {
    return;
  } else {
    await run(host, ['lvchange', '--activate', 'ey', device], LOCKSTART_TIMEOUT_MS);
  }
  await retry(() => run(host, ['mount', '-t', 'gfs2', '-o', 'noatime', device, DATASTORES], 180_000), 5);
  log(`testbed: ${host.name}: GFS2 mounted at ${DATASTORES}`);
}

/** Waits until dlm_controld sees every host as a member (corosync membership formed). */
async function waitForDlmMembers(host: TestbedHost, count: number): Promise<void> {
  const deadline = Date.now() + 180_000;
  let last = '';
  while (Date.now() < deadline) {
    const result = await host.runner().run(['dlm_tool', 'status'], { reject: false, timeoutMs: 20_000 });
    last = result.stdout;
    const members = last.split('\n').filter((l) => /^node \d+ M /.test(l)).length;
    if (/quorate 1/.test(last) && members >= count) return;
    await sleep(2000);
  }
  throw new TestbedError(
    'SETUP_FAILED',
    `${host.name}: DLM membership did not form (dlm_tool status: ${last.trim().split('\n')[0] ?? 'nothing'})`,
  );
}

async function retry<T>(fn: () => Promise<T>, attempts: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts) throw error;
      await sleep(3000);
    }
  }
}
