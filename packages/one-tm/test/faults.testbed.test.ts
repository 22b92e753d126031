import { createServer, type Server } from 'node:net';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, IMG_DS, SYS_DS, VG } from './cluster.js';
import { ensureDatastoreDirs, type FrontEnd, lvState, setUpFrontEnd, sh, vmXml } from './suite.js';

// Faults on the real cluster: each must fail with one clear line and leave no LV, link or
// directory behind. (Killing hosts and stopping lockspaces would break the other suites sharing
// the cluster; those run on a cluster of their own.)

const stamp = Date.now() % 800;
const VM = 7000 + stamp;
const IMG = 94_000 + stamp;
const MISSING_VG_DS = 102;
const UNMOUNTED_DS = 103;
const FOREIGN_VG_DS = 104;
const UNMOUNTED = `/var/lib/one/datastores/${UNMOUNTED_DS}`;
const img = `lv-oneimg-${IMG}`;

let env: FrontEnd;
let n1: Runner;
let silent: Server;
let closedPort = 0;

async function exists(runner: Runner, path: string): Promise<boolean> {
  return (await runner.run(['test', '-e', path], { reject: false, timeoutMs: 60_000 })).exitCode === 0;
}

/** One line for `line`, matching `message`, and nothing of VM's disk 0 anywhere. */
async function expectCleanFailure(line: string, message: RegExp, ds = SYS_DS): Promise<void> {
  const r = await env.tm.transferLines(VM, [line]);
  expect(r.reply, r.lines.join('\n')).toMatch(new RegExp(`^TRANSFER FAILURE ${VM} `));
  expect(r.reply?.replace(`TRANSFER FAILURE ${VM} `, '')).toMatch(message);
  expect(await lvState(n1, VG, `lv-one-${VM}-0`)).toBeNull();
  expect(await exists(n1, `/var/lib/one/datastores/${ds}/${VM}`)).toBe(false);
}

beforeAll(async () => {
  // A port that refuses connections, and one that accepts and then says nothing (a hung host).
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  closedPort = (closed.address() as { port: number }).port;
  await new Promise((r) => closed.close(r));
  silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as { port: number }).port;
  env = await setUpFrontEnd({
    // The hung host is given up after this many seconds.
    config: ['SSH_CONNECT_TIMEOUT=20'],
    extraSshConfig: `Host node9\n  HostName 127.0.0.1\n  Port ${closedPort}\nHost node8\n  HostName 127.0.0.1\n  Port ${silentPort}\n`,
    datastores: {
      [MISSING_VG_DS]: { VG_NAME: `vg-one-missing-${stamp}` },
      [UNMOUNTED_DS]: { VG_NAME: VG },
      // A VG the host helper's allow-list (helper.conf allow_vg, default vg-one-*) does not name.
      [FOREIGN_VG_DS]: { VG_NAME: `vg-san-${stamp}` },
    },
  });
  n1 = env.root('node1');
  await ensureDatastoreDirs(env.cluster, [MISSING_VG_DS, FOREIGN_VG_DS]);
  // GFS2 not mounted where a datastore is: since issue 13 a MISSING system datastore directory
  // right under the GFS2 mount is created at the first prolog (as OpenNebula's drivers do), so the
  // fault is now another file system at the datastore's path on node1 (a tmpfs, only there).
  await sh(n1, [
    'sh',
    '-c',
    `mkdir -p ${UNMOUNTED} && (mountpoint -q ${UNMOUNTED} || mount -t tmpfs -o size=1m none ${UNMOUNTED})`,
  ]);
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-an', '-L', '8m', '-n', img, VG]);
  await env.setVm(VM, vmXml(VM, 'node1', [{ id: 0, sizeMiB: 8, source: `${VG}/${img}` }]));
}, 600_000);

afterAll(async () => {
  silent?.close();
  if (!n1) return;
  await n1.run(['sh', '-c', `umount ${UNMOUNTED}; rmdir ${UNMOUNTED}`], { reject: false, timeoutMs: 60_000 });
  await n1.run(['lvremove', '-y', `${VG}/${img}`, `${VG}/lv-one-${VM}-0`], {
    reject: false,
    timeoutMs: 120_000,
  });
  await n1.run(['rm', '-rf', `/var/lib/one/datastores/${SYS_DS}/${VM}`], {
    reject: false,
    timeoutMs: 60_000,
  });
  await env.cluster.close();
}, 300_000);

describe('faults leave nothing behind', () => {
  it('host unreachable (connection refused)', async () => {
    await expectCleanFailure(
      `CLONE gfs2clvm fe:${VG}/${img} node9:${DL}/${SYS_DS}/${VM}/disk.0 ${VM} ${IMG_DS}`,
      new RegExp(`^node9 \\(${env.user}@127\\.0\\.0\\.1:${closedPort}\\): unreachable`),
    );
  });

  it('host hung (TCP accepted, no SSH answer): gives up after SSH_CONNECT_TIMEOUT', async () => {
    await expectCleanFailure(
      `CLONE gfs2clvm fe:${VG}/${img} node8:${DL}/${SYS_DS}/${VM}/disk.0 ${VM} ${IMG_DS}`,
      /^node8 .*unreachable/,
    );
  });

  it('VG full: lvcreate refused for lack of space', async () => {
    await expectCleanFailure(
      `MKIMAGE gfs2clvm 4000000 raw node1:${DL}/${SYS_DS}/${VM}/disk.0 ${VM} ${SYS_DS}`,
      /^lvcreate vg-one-100\/lv-one-\d+-0 on node1: .*insufficient free space/i,
    );
  });

  it('VG missing (VG_NAME of the datastore names no VG)', async () => {
    await expectCleanFailure(
      `MKIMAGE gfs2clvm 8 raw node1:${DL}/${MISSING_VG_DS}/${VM}/disk.0 ${VM} ${MISSING_VG_DS}`,
      new RegExp(`Volume group "vg-one-missing-${stamp}" not found`),
      MISSING_VG_DS,
    );
  });

  it('VG outside the host helper allow-list: refused by the helper, naming where the list is', async () => {
    if (env.user === 'root') return; // plain LVM has no allow-list
    await expectCleanFailure(
      `MKIMAGE gfs2clvm 8 raw node1:${DL}/${FOREIGN_VG_DS}/${VM}/disk.0 ${VM} ${FOREIGN_VG_DS}`,
      new RegExp(
        `^lvs vg-san-${stamp}/lv-one-${VM}-0 on node1: one-gfs2clvm-helper: VG vg-san-${stamp} is not one of the driver's VGs \\(allow_vg in /etc/one-gfs2clvm/helper\\.conf: vg-one-\\*\\)$`,
      ),
      FOREIGN_VG_DS,
    );
  });

  it('unknown datastore (oned does not know it)', async () => {
    await expectCleanFailure(
      `MKIMAGE gfs2clvm 8 raw node1:${DL}/555/${VM}/disk.0 ${VM} 555`,
      /^onedatastore show -x 555 failed: \[one\.datastore\.info\] Error getting object \[555\]/,
      555,
    );
  });

  it('GFS2 not mounted at the datastore (another file system there on the host): nothing written to it', async () => {
    await expectCleanFailure(
      `MKIMAGE gfs2clvm 8 raw node1:${DL}/${UNMOUNTED_DS}/${VM}/disk.0 ${VM} ${UNMOUNTED_DS}`,
      new RegExp(`^not GFS2: ${UNMOUNTED}(/${VM})? on node1 is on tmpfs`),
      UNMOUNTED_DS,
    );
    // ln activates the image while it checks GFS2 (both at once): the failure releases it again.
    await expectCleanFailure(
      `LN gfs2clvm fe:${VG}/${img} node1:${DL}/${UNMOUNTED_DS}/${VM}/disk.0 ${VM} ${IMG_DS}`,
      new RegExp(`^not GFS2: ${UNMOUNTED}(/${VM})? on node1 is on tmpfs`),
      UNMOUNTED_DS,
    );
    // The host tag goes with the release; the marker one_written (added in the same lvchange as
    // the activation) stays: it only makes later clones read the whole image.
    expect(await lvState(n1, VG, img)).toMatchObject({ active: false, tags: ['one_written'] });
  });

  it('image LV missing', async () => {
    await expectCleanFailure(
      `CLONE gfs2clvm fe:${VG}/lv-oneimg-1${IMG} node1:${DL}/${SYS_DS}/${VM}/disk.0 ${VM} ${IMG_DS}`,
      new RegExp(`lvs ${VG}/lv-oneimg-1${IMG} on node1: .*Failed to find logical volume`),
    );
  });
});
