import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, IMG_DS, SYS_DS, VG } from './cluster.js';
import { expectEpilogDeletes, type FrontEnd, lvState, setUpFrontEnd, sh, vmXml } from './suite.js';

// A CDROM image is never copied: every VM links the image LV, activated shared (read-only) on each
// host that runs one, and releasing it on one host leaves the others alone.

const stamp = Date.now() % 800;
const VM_A = 6000 + stamp;
const VM_B = 6000 + stamp + 1;
const ISO = 95_000 + stamp;
const iso = `lv-oneimg-${ISO}`;

let env: FrontEnd;
let n1: Runner;
let n2: Runner;

beforeAll(async () => {
  env = await setUpFrontEnd();
  n1 = env.root('node1');
  n2 = env.root('node2');
  await sh(n1, ['mkdir', '-p', `/var/lib/one/datastores/${SYS_DS}`]);
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-an', '-L', '8m', '-n', iso, VG]);
  for (const [vm, host] of [
    [VM_A, 'node1'],
    [VM_B, 'node2'],
  ] as const)
    await env.setVm(vm, vmXml(vm, host, [{ id: 0, type: 'CDROM', source: `${VG}/${iso}` }]));
}, 600_000);

afterAll(async () => {
  if (!n1) return;
  await n2.run(['lvchange', '-an', `${VG}/${iso}`], { reject: false, timeoutMs: 120_000 });
  await n1.run(['lvchange', '-an', `${VG}/${iso}`], { reject: false, timeoutMs: 120_000 });
  await n1.run(['lvremove', '-y', `${VG}/${iso}`], { reject: false, timeoutMs: 120_000 });
  for (const vm of [VM_A, VM_B])
    await n1.run(['rm', '-rf', `/var/lib/one/datastores/${SYS_DS}/${vm}`], {
      reject: false,
      timeoutMs: 60_000,
    });
  await env.cluster.close();
}, 300_000);

describe('CDROM images', () => {
  it('are linked shared on every host that runs a VM with them, and released per host', async () => {
    for (const [vm, host] of [
      [VM_A, 'node1'],
      [VM_B, 'node2'],
    ] as const) {
      const r = await env.tm.transferLines(vm, [
        `LN gfs2clvm fe:${VG}/${iso} ${host}:${DL}/${SYS_DS}/${vm}/disk.0 ${vm} ${IMG_DS}`,
      ]);
      expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${vm} -`);
    }
    expect(await lvState(n1, VG, iso)).toMatchObject({ active: true, lock: 'sh', tags: [] });
    expect(await lvState(n2, VG, iso)).toMatchObject({ active: true, lock: 'sh', tags: [] });
    expect(await sh(n1, ['readlink', `/var/lib/one/datastores/${SYS_DS}/${VM_B}/disk.0`])).toBe(
      `/dev/${VG}/${iso}`,
    );

    await expectEpilogDeletes(env, VM_A, 'node1', SYS_DS, IMG_DS);
    expect(await lvState(n1, VG, iso)).toMatchObject({ active: false, lock: null });
    expect(await lvState(n2, VG, iso)).toMatchObject({ active: true, lock: 'sh' }); // VM B still has it

    await expectEpilogDeletes(env, VM_B, 'node2', SYS_DS, IMG_DS);
    expect(await lvState(n2, VG, iso)).toMatchObject({ active: false, lock: null });
    expect(await lvState(n1, VG, iso)).not.toBeNull(); // the image itself stays
  });
});
