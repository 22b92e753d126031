import { mapFromExtents, mapTag } from '@one-gfs2clvm/driver-runtime';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, IMG_DS, SYS_DS, VG } from './cluster.js';
import { ddFill } from './fill.js';
import { type FrontEnd, lvState, setUpFrontEnd, sh, sumOf, vmXml } from './suite.js';

// Issue 13 item 1: many VMs instantiated at once from the SAME image on both hosts, driven as oned
// drives them (one_tm.rb stand-in, concurrency 15). Every clone activates the image shared on its
// host, copies, and releases it; the targets differ in size (16–160 MiB, ZERO_ON_CREATE) so the
// wipes before the copies differ in length, the short copies (an allocation map: 2 ranges, 8 MiB)
// overlap and leave gaps. A release that deactivated the image in such a gap, under a neighbour
// that had activated it and not yet opened it, made that neighbour's copy fail
// (`dd: failed to open '/dev/vg-one-100/lv-oneimg-…': No such file or directory`).
// Then the guard for what holds no lease: a VM's persistent disk. VM ids 3100–3111, image 3100. The LVs are removed by root afterwards (the epilogs are
// bench/concurrency.mjs's business: their wipes would double the time of this suite).

const IMG = 3100;
const img = `lv-oneimg-${IMG}`;
const IMG_MIB = 32;
const VMS = Array.from({ length: 10 }, (_, i) => 3100 + i);
const ALL_VMS = [...VMS, 3110, 3111];
const hostOf = (vm: number) => (vm % 2 === 0 ? 'node1' : 'node2');
const sizeOf = (vm: number) => 16 + 16 * ((vm * 3) % 10); // 16 … 160 MiB, mixed

let env: FrontEnd;
let n1: Runner;
let imageSum = '';

beforeAll(async () => {
  env = await setUpFrontEnd();
  n1 = env.root('node1');
  await n1.run(['lvremove', '-y', `${VG}/${img}`], { reject: false, timeoutMs: 120_000 });
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', `${IMG_MIB}m`, '-n', img, VG]);
  const dev = `/dev/${VG}/${img}`;
  await sh(n1, ['blkdiscard', '--zeroout', dev]);
  // Data at 0–4 MiB and 20–24 MiB: with its allocation map the image is copied as 2 ranges, 8 MiB.
  for (const seek of [0, 20]) await sh(n1, ddFill(dev, 4, { seek }));
  imageSum = await sumOf(n1, dev, 0, IMG_MIB);
  const zero = (start: number, length: number) => ({
    start: start * 2 ** 20,
    length: length * 2 ** 20,
    zero: true,
  });
  const tag = mapTag(mapFromExtents(IMG_MIB * 2 ** 20, [zero(4, 16), zero(24, 8)])) as string;
  await sh(n1, ['lvchange', '-an', '--addtag', tag, `${VG}/${img}`]);
  for (const vm of VMS)
    await env.setVm(vm, vmXml(vm, hostOf(vm), [{ id: 0, sizeMiB: sizeOf(vm), source: `${VG}/${img}` }]));
}, 600_000);

afterAll(async () => {
  if (!env) return;
  // Three commands in all (each SSH command costs seconds on a loaded testbed); LVM goes on past
  // names that do not exist.
  const lenient = { reject: false, timeoutMs: 300_000 };
  const lvs = [...ALL_VMS.map((vm) => `${VG}/lv-one-${vm}-0`), `${VG}/${img}`];
  await env.root('node2').run(['lvchange', '-an', ...lvs], lenient);
  await n1.run(['lvremove', '-y', ...lvs], lenient);
  await n1.run(
    ['rm', '-rf', '--', ...ALL_VMS.map((vm) => `/var/lib/one/datastores/${SYS_DS}/${vm}`)],
    lenient,
  );
  await env.cluster.close();
}, 600_000);

describe('concurrent clones of one image on both hosts', () => {
  it('all succeed with the image data, and the image is released on both hosts at the end', async () => {
    const results = await Promise.all(
      VMS.map((vm) =>
        env.tm.transferLines(vm, [
          `CLONE gfs2clvm fe:${VG}/${img} ${hostOf(vm)}:${DL}/${SYS_DS}/${vm}/disk.0 ${vm} ${IMG_DS}`,
        ]),
      ),
    );
    const failed = results
      .map((r, i) => ({ vm: VMS[i], reply: r.reply, lines: r.lines }))
      .filter((r) => r.reply !== `TRANSFER SUCCESS ${r.vm} -`);
    expect(failed.map((f) => `${f.vm}: ${f.reply}`)).toEqual([]);
    for (const vm of VMS)
      expect(await sumOf(env.root(hostOf(vm)), `/dev/${VG}/lv-one-${vm}-0`, 0, IMG_MIB), `VM ${vm}`).toBe(
        imageSum,
      );
    // The last user on each host released it.
    expect(await lvState(n1, VG, img)).toMatchObject({ active: false, lock: null });
    expect(await lvState(env.root('node2'), VG, img)).toMatchObject({ active: false, lock: null });
  });

  it('a clone never releases the image a VM of its host runs on (persistent ln: host tag)', async () => {
    const [vmLn, vmClone] = [3110, 3111];
    await env.setVm(vmLn, vmXml(vmLn, 'node1', [{ id: 0, source: `${VG}/${img}`, persistent: true }]));
    await env.setVm(vmClone, vmXml(vmClone, 'node1', [{ id: 0, sizeMiB: IMG_MIB, source: `${VG}/${img}` }]));
    const ln = await env.tm.transferLines(vmLn, [
      `LN gfs2clvm fe:${VG}/${img} node1:${DL}/${SYS_DS}/${vmLn}/disk.0 ${vmLn} ${IMG_DS}`,
    ]);
    expect(ln.reply, ln.lines.join('\n')).toBe(`TRANSFER SUCCESS ${vmLn} -`);
    const clone = await env.tm.transferLines(vmClone, [
      `CLONE gfs2clvm fe:${VG}/${img} node1:${DL}/${SYS_DS}/${vmClone}/disk.0 ${vmClone} ${IMG_DS}`,
    ]);
    expect(clone.reply, clone.lines.join('\n')).toBe(`TRANSFER SUCCESS ${vmClone} -`);
    expect(await sumOf(n1, `/dev/${VG}/lv-one-${vmClone}-0`, 0, IMG_MIB)).toBe(imageSum);
    // Still the VM's: active exclusively on node1 with its tag.
    const state = await lvState(n1, VG, img);
    expect(state).toMatchObject({ active: true, lock: 'ex' });
    expect(state?.tags).toContain('one_active_node1');
    const del = await env.tm.transferLines(
      vmLn,
      [`DELETE gfs2clvm node1:${DL}/${SYS_DS}/${vmLn}/disk.0 ${vmLn} ${IMG_DS}`],
      'epilog',
    );
    expect(del.reply, del.lines.join('\n')).toBe(`TRANSFER SUCCESS ${vmLn} -`);
    expect(await lvState(n1, VG, img)).toMatchObject({ active: false, lock: null });
  });
});
