import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, IMG_DS, SYS_DS, VG } from './cluster.js';
import {
  cleanUp,
  type FrontEnd,
  lvState,
  lvStates,
  setUpFrontEnd,
  sh,
  sumOf,
  vmXml,
  zeroSum,
} from './suite.js';

// The whole life of a VM on the real cluster (tools/testbed: two hosts on one LUN, lvmlockd +
// sanlock, GFS2 over DLM at /var/lib/one/datastores), driving the BUILT action scripts through the
// one_tm.rb stand-in, asserting LV state, locks, links and data on the hosts.

const stamp = Date.now() % 800;
const VM = 9000 + stamp;
const IMG_A = 90_000 + stamp; // non-persistent OS image (cloned)
const IMG_B = 91_000 + stamp; // persistent DATABLOCK (ln: the VM runs on it)
const vmDir = `${DL}/${SYS_DS}/${VM}`;
const lv = (disk: number) => `lv-one-${VM}-${disk}`;
const img = (id: number) => `lv-oneimg-${id}`;

let env: FrontEnd;
let n1: Runner;
let n2: Runner;
let sumA = '';
let sumB = '';
const disks = () => [
  { id: 0, sizeMiB: 32, source: `${VG}/${img(IMG_A)}` },
  { id: 1, sizeMiB: 16, persistent: true, source: `${VG}/${img(IMG_B)}` },
  { id: 2, type: 'swap', sizeMiB: 16 },
  { id: 3, type: 'fs', sizeMiB: 16, fs: 'ext4' },
];

async function makeImage(id: number): Promise<string> {
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', '16m', '-n', img(id), VG]);
  const dev = `/dev/${VG}/${img(id)}`;
  await sh(n1, ['dd', 'if=/dev/urandom', `of=${dev}`, 'bs=1M', 'count=16', 'oflag=direct', 'status=none']);
  const sum = (await sh(n1, ['sha256sum', dev])).split(' ')[0] as string;
  await sh(n1, ['lvchange', '-an', `${VG}/${img(id)}`]);
  return sum;
}

/** sha256 of `count` MiB of the device at `skip` MiB, read on `runner`'s host. */

async function link(runner: Runner, path: string): Promise<string> {
  const r = await runner.run(['readlink', path], { reject: false, timeoutMs: 60_000 });
  return r.exitCode === 0 ? r.stdout.trim() : `(missing: ${r.stderr.trim()})`;
}

async function exists(runner: Runner, path: string): Promise<boolean> {
  return (await runner.run(['test', '-e', path], { reject: false, timeoutMs: 60_000 })).exitCode === 0;
}

beforeAll(async () => {
  env = await setUpFrontEnd();
  n1 = env.root('node1');
  n2 = env.root('node2');
  await sh(n1, ['mkdir', '-p', `/var/lib/one/datastores/${SYS_DS}`]);
  sumA = await makeImage(IMG_A);
  sumB = await makeImage(IMG_B);
  await env.setVm(VM, vmXml(VM, 'node1', disks()));
}, 600_000);

afterAll(async () => {
  // Whatever a failed test left behind; the tests themselves assert the clean-up.
  if (n1) await cleanUp(env, VM, [lv(0), lv(1), lv(2), lv(3), img(IMG_A), img(IMG_B)]);
}, 600_000);

describe('a VM on the testbed, end to end', () => {
  it('instantiates: clone, ln, mkswap, mkimage on node1, exclusive there, data copied', async () => {
    const r = await env.tm.transferLines(VM, [
      `CLONE gfs2clvm fe:${VG}/${img(IMG_A)} node1:${vmDir}/disk.0 ${VM} ${IMG_DS}`,
      `LN gfs2clvm fe:${VG}/${img(IMG_B)} node1:${vmDir}/disk.1 ${VM} ${IMG_DS}`,
      `MKSWAP gfs2clvm 16 node1:${vmDir}/disk.2 ${VM} ${SYS_DS}`,
      `MKIMAGE gfs2clvm 16 raw node1:${vmDir}/disk.3 ${VM} ${SYS_DS}`,
    ]);
    expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);

    const names = [lv(0), img(IMG_B), lv(2), lv(3)];
    const [states1, states2] = [await lvStates(n1, VG, names), await lvStates(n2, VG, names)];
    for (const [disk, name] of names.entries()) {
      expect(await link(n2, `/var/lib/one/datastores/${SYS_DS}/${VM}/disk.${disk}`)).toBe(
        `/dev/${VG}/${name}`,
      );
      const on1 = states1[name];
      expect(on1, name).toMatchObject({ active: true, lock: 'ex' });
      expect(on1?.tags).toContain('one_active_node1');
      expect(states2[name]).toMatchObject({ active: false, lock: null });
    }
    // The lock is really held: node2 cannot take the clone.
    const stolen = await n2.run(['lvchange', '-aey', `${VG}/${lv(0)}`], {
      reject: false,
      timeoutMs: 120_000,
    });
    expect(stolen.exitCode).not.toBe(0);
    expect(stolen.stderr).toMatch(/locked by other host|held by other host|Failed to lock/i);

    const dev0 = `/dev/${VG}/${lv(0)}`;
    expect(await sumOf(n1, dev0, 0, 16)).toBe(sumA);
    expect(await sumOf(n1, dev0, 16, 16)).toBe(await zeroSum(n1, 16)); // tail zeroed
    expect(await sumOf(n1, `/dev/${VG}/${img(IMG_B)}`, 0, 16)).toBe(sumB); // ln: no copy, same LV
    expect(await sh(n1, ['blkid', '-o', 'value', '-s', 'TYPE', `/dev/${VG}/${lv(2)}`])).toBe('swap');
    expect(await sh(n1, ['blkid', '-o', 'value', '-s', 'TYPE', `/dev/${VG}/${lv(3)}`])).toBe('ext4');
    // The image itself is not left active anywhere.
    expect(await lvState(n1, VG, img(IMG_A))).toMatchObject({ active: false, lock: null });
  });

  it('running the same prolog again succeeds and changes nothing (oned retries)', async () => {
    const before = await sumOf(n1, `/dev/${VG}/${lv(0)}`, 0, 32);
    const r = await env.tm.transferLines(VM, [
      `CLONE gfs2clvm fe:${VG}/${img(IMG_A)} node1:${vmDir}/disk.0 ${VM} ${IMG_DS}`,
      `LN gfs2clvm fe:${VG}/${img(IMG_B)} node1:${vmDir}/disk.1 ${VM} ${IMG_DS}`,
    ]);
    expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
    expect(await sumOf(n1, `/dev/${VG}/${lv(0)}`, 0, 32)).toBe(before);
  });

  it('refuses ln of the persistent image for another VM on node2 while node1 holds it', async () => {
    const other = VM + 1;
    await env.setVm(
      other,
      vmXml(other, 'node2', [{ id: 0, persistent: true, source: `${VG}/${img(IMG_B)}` }]),
    );
    const r = await env.tm.transferLines(other, [
      `LN gfs2clvm fe:${VG}/${img(IMG_B)} node2:${DL}/${SYS_DS}/${other}/disk.0 ${other} ${IMG_DS}`,
    ]);
    expect(r.reply).toMatch(
      new RegExp(`^TRANSFER FAILURE ${other} image ${VG}/${img(IMG_B)} is active on another host`),
    );
    expect(await lvState(n1, VG, img(IMG_B))).toMatchObject({ active: true, lock: 'ex' });
    expect(await lvState(n2, VG, img(IMG_B))).toMatchObject({ active: false, lock: null });
    // LVM tags before it activates: the refused activation's tag of node2 is gone again
    // (one_written, from node1's ln, stays: a VM may have written the image).
    expect((await lvState(n1, VG, img(IMG_B)))?.tags).toEqual(['one_active_node1', 'one_written']);
    expect(await exists(n2, `/var/lib/one/datastores/${SYS_DS}/${other}/disk.0`)).toBe(false);
    expect(await exists(n2, `/var/lib/one/datastores/${SYS_DS}/${other}`)).toBe(false); // rolled back
  });

  it('live-migrates node1 → node2: shared on both during, exclusive on node2 after', async () => {
    const xml = env.vmB64(vmXml(VM, 'node1', disks()));
    const pre = await env.tm.tmCommand(
      VM,
      ['PREMIGRATE', 'gfs2clvm', 'node1', 'node2', vmDir, String(VM), String(SYS_DS)],
      xml,
    );
    expect(pre.result, pre.lines.join('\n')).toBe('SUCCESS');
    const names = [lv(0), img(IMG_B), lv(2), lv(3)];
    let [states1, states2] = [await lvStates(n1, VG, names), await lvStates(n2, VG, names)];
    for (const name of names) {
      expect(states1[name], name).toMatchObject({ active: true, lock: 'sh' });
      expect(states2[name], name).toMatchObject({ active: true, lock: 'sh' });
    }
    const post = await env.tm.tmCommand(
      VM,
      ['POSTMIGRATE', 'gfs2clvm', 'node1', 'node2', vmDir, String(VM), String(SYS_DS)],
      xml,
    );
    expect(post.result, post.lines.join('\n')).toBe('SUCCESS');
    [states1, states2] = [await lvStates(n1, VG, names), await lvStates(n2, VG, names)];
    for (const name of names) {
      expect(states1[name], name).toMatchObject({ active: false, lock: null });
      const on2 = states2[name];
      expect(on2, name).toMatchObject({ active: true, lock: 'ex' });
      expect(on2?.tags).toContain('one_active_node2');
      expect(on2?.tags).not.toContain('one_active_node1');
    }
    expect(await sumOf(n2, `/dev/${VG}/${lv(0)}`, 0, 16)).toBe(sumA);
  });

  it('a failed live migration node2 → node1: failmigrate restores node2 exclusive', async () => {
    await env.setVm(VM, vmXml(VM, 'node2', disks()));
    const xml = env.vmB64(vmXml(VM, 'node2', disks()));
    const words = (a: string) => [a, 'gfs2clvm', 'node2', 'node1', vmDir, String(VM), String(SYS_DS)];
    const pre = await env.tm.tmCommand(VM, words('PREMIGRATE'), xml);
    expect(pre.result, pre.lines.join('\n')).toBe('SUCCESS');
    expect(await lvState(n1, VG, lv(0))).toMatchObject({ active: true, lock: 'sh' });
    const fail = await env.tm.tmCommand(VM, words('FAILMIGRATE'), xml);
    expect(fail.result, fail.lines.join('\n')).toBe('SUCCESS');
    const names = [lv(0), img(IMG_B), lv(2), lv(3)];
    const [states1, states2] = [await lvStates(n1, VG, names), await lvStates(n2, VG, names)];
    for (const name of names) {
      expect(states1[name], name).toMatchObject({ active: false, lock: null });
      expect(states2[name], name).toMatchObject({ active: true, lock: 'ex' });
    }
  });

  it('terminates: mvds releases the persistent image, delete removes the rest, nothing left', async () => {
    const r = await env.tm.transferLines(
      VM,
      [
        `MVDS gfs2clvm node2:${vmDir}/disk.1 ${VG}/${img(IMG_B)} ${VM} ${IMG_DS}`,
        `DELETE gfs2clvm node2:${vmDir}/disk.0 ${VM} ${IMG_DS}`,
        `DELETE gfs2clvm node2:${vmDir}/disk.2 ${VM} ${SYS_DS}`,
        `DELETE gfs2clvm node2:${vmDir}/disk.3 ${VM} ${SYS_DS}`,
        `DELETE gfs2clvm node2:${vmDir} ${VM} ${SYS_DS}`,
      ],
      'epilog',
    );
    expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
    for (const disk of [0, 2, 3]) expect(await lvState(n1, VG, lv(disk))).toBeNull();
    // No host tag left; one_written stays for good (the VM wrote the image: alloc-map.ts).
    expect(await lvState(n1, VG, img(IMG_B))).toMatchObject({
      active: false,
      lock: null,
      tags: ['one_written'],
    });
    expect(await lvState(n2, VG, img(IMG_B))).toMatchObject({ active: false, lock: null });
    expect(await exists(n1, `/dev/${VG}/${img(IMG_B)}`)).toBe(false); // no device node: inactive
    expect(await lvState(n1, VG, img(IMG_A))).not.toBeNull(); // images are never removed
    expect(await exists(n1, `/var/lib/one/datastores/${SYS_DS}/${VM}`)).toBe(false);
    // Deleting again is success (idempotent).
    const again = await env.tm.transferLines(
      VM,
      [
        `DELETE gfs2clvm node2:${vmDir}/disk.0 ${VM} ${IMG_DS}`,
        `DELETE gfs2clvm node2:${vmDir} ${VM} ${SYS_DS}`,
      ],
      'epilog',
    );
    expect(again.reply, again.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
  });

  it('refuses bad input with one line and leaves nothing behind', async () => {
    const bad = VM + 2;
    await env.setVm(bad, vmXml(bad, 'node1', [{ id: 0, sizeMiB: 16, source: `${VG}/${img(IMG_A)}` }]));
    const cases: Array<[string, RegExp]> = [
      [
        `CLONE gfs2clvm fe:${VG}/${img(IMG_A)} node1:${DL}/${SYS_DS}/${bad}/disk.0 ${bad}`,
        /^clone: expected 4 arguments, got 3/,
      ],
      [
        `CLONE gfs2clvm fe:${VG}/${img(IMG_A)} node1:${DL}/${SYS_DS}/${bad}/../../etc/disk.0 ${bad} ${IMG_DS}`,
        /has a "\.\." component/,
      ],
      [
        `CLONE gfs2clvm fe:${VG}/${img(IMG_A)} -oProxyCommand=touch:${DL}/${SYS_DS}/${bad}/disk.0 ${bad} ${IMG_DS}`,
        /host name "-oProxyCommand=touch" is not valid/,
      ],
      [
        `CLONE gfs2clvm fe:${VG}/$(reboot) node1:${DL}/${SYS_DS}/${bad}/disk.0 ${bad} ${IMG_DS}`,
        /is not <vg>\/<lv>/,
      ],
      [
        `MKIMAGE gfs2clvm 99999999999 raw node1:${DL}/${SYS_DS}/${bad}/disk.0 ${bad} ${SYS_DS}`,
        /is not a size in MiB/,
      ],
      [
        `CLONE gfs2clvm fe:${VG}/${img(IMG_A)} node1:${DL}/${SYS_DS}/${bad}/disk.0 ${bad + 1} ${IMG_DS}`,
        /does not match the path/,
      ],
      [
        `SNAP_CREATE gfs2clvm node1:${DL}/${SYS_DS}/${bad}/disk.0 0 ${bad} ${SYS_DS}`,
        // snap_create is supported since thin mode (ae720f5): a VM without that disk is one line.
        /^snap_create \/var\/lib\/one\/datastores\/100\/\d+\/disk\.0: not a link to an LV \(missing\)/,
      ],
      [
        `CLONE gfs2clvm fe:${VG}/lv-oneimg-999999 node1:${DL}/${SYS_DS}/${bad}/disk.0 ${bad} ${IMG_DS}`,
        /lv-oneimg-999999.*Failed to find logical volume/,
      ],
    ];
    for (const [line, message] of cases) {
      const r = await env.tm.transferLines(bad, [line]);
      const info = r.reply?.replace(`TRANSFER FAILURE ${bad} `, '') ?? '';
      expect(r.reply, line).toMatch(new RegExp(`^TRANSFER FAILURE ${bad} `));
      expect(info, line).toMatch(message);
    }
    expect(await lvState(n1, VG, `lv-one-${bad}-0`)).toBeNull();
    expect(await exists(n1, `/var/lib/one/datastores/${SYS_DS}/${bad}/disk.0`)).toBe(false);
    expect(await exists(n1, '/etc/disk.0')).toBe(false);
    expect(await exists(n1, `/var/lib/one/datastores/${SYS_DS}/${bad}`)).toBe(false);
  });
});
