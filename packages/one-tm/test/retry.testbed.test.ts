import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, IMG_DS, SYS_DS, VG } from './cluster.js';
import { ddFill } from './fill.js';
import { type FrontEnd, lvState, setUpFrontEnd, sh, vmXml } from './suite.js';

// What an interrupted clone leaves (its LV, no link: the link is made last) is cleaned up by the
// retry and by delete. The interruption is reproduced by making that state directly; killing a
// host would take the cluster away from the other suites.

const stamp = Date.now() % 800;
const VM = 5000 + stamp;
const IMG = 96_000 + stamp;
const img = `lv-oneimg-${IMG}`;
const own = (disk: number) => `lv-one-${VM}-${disk}`;
const dir = `/var/lib/one/datastores/${SYS_DS}/${VM}`;

let env: FrontEnd;
let n1: Runner;
let sum = '';

beforeAll(async () => {
  env = await setUpFrontEnd();
  n1 = env.root('node1');
  // The VM directory is oneadmin's, as when the driver (running as oneadmin) made it.
  await sh(n1, ['install', '-d', '-o', 'oneadmin', '-g', 'oneadmin', dir]);
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', '8m', '-n', img, VG]);
  await sh(n1, ddFill(`/dev/${VG}/${img}`, 8));
  sum = (await sh(n1, ['sha256sum', `/dev/${VG}/${img}`])).split(' ')[0] as string;
  await sh(n1, ['lvchange', '-an', `${VG}/${img}`]);
  await env.setVm(
    VM,
    vmXml(VM, 'node1', [
      { id: 0, sizeMiB: 8, source: `${VG}/${img}` },
      { id: 1, sizeMiB: 8 },
    ]),
  );
}, 600_000);

afterAll(async () => {
  if (!n1) return;
  await n1.run(['lvremove', '-y', `${VG}/${img}`, `${VG}/${own(0)}`, `${VG}/${own(1)}`], {
    reject: false,
    timeoutMs: 120_000,
  });
  await n1.run(['rm', '-rf', dir], { reject: false, timeoutMs: 60_000 });
  await env.cluster.close();
}, 300_000);

describe('after an interrupted clone', () => {
  it('the retried clone replaces the half-made LV and finishes', async () => {
    // Half-made: the LV exists with garbage, no disk.0 link.
    await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', '8m', '-n', own(0), VG]);
    await sh(n1, ddFill(`/dev/${VG}/${own(0)}`, 1));
    const r = await env.tm.transferLines(VM, [
      `CLONE gfs2clvm fe:${VG}/${img} node1:${DL}/${SYS_DS}/${VM}/disk.0 ${VM} ${IMG_DS}`,
    ]);
    expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
    expect(r.lines.join('\n')).toMatch(/left by an interrupted clone/);
    expect(await sh(n1, ['sha256sum', `/dev/${VG}/${own(0)}`])).toMatch(new RegExp(`^${sum} `));
    expect(await lvState(n1, VG, own(0))).toMatchObject({
      active: true,
      lock: 'ex',
      tags: ['one_active_node1'],
    });
  });

  it('delete removes an LV whose link was never made', async () => {
    await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', '8m', '-n', own(1), VG]);
    const r = await env.tm.transferLines(
      VM,
      [
        `DELETE gfs2clvm node1:${DL}/${SYS_DS}/${VM}/disk.1 ${VM} ${SYS_DS}`,
        `DELETE gfs2clvm node1:${DL}/${SYS_DS}/${VM}/disk.0 ${VM} ${IMG_DS}`,
        `DELETE gfs2clvm node1:${DL}/${SYS_DS}/${VM} ${VM} ${SYS_DS}`,
      ],
      'epilog',
    );
    expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
    expect(await lvState(n1, VG, own(1))).toBeNull();
    expect(await lvState(n1, VG, own(0))).toBeNull();
    expect((await n1.run(['test', '-e', dir], { reject: false })).exitCode).toBe(1);
  });
});
