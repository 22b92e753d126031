import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, IMG_DS, SYS_DS, VG } from './cluster.js';
import { ddFill } from './fill.js';
import { cleanUp, type FrontEnd, lvState, setUpFrontEnd, sh, sumOf, vmXml, zeroSum } from './suite.js';

// Operations after the first deploy, on the real cluster through the built scripts: context ISO,
// resize, cold migration, stop/undeploy + resume, disk-saveas, terminate of an undeployed VM.

const stamp = Date.now() % 800;
const VM = 8000 + stamp;
const IMG = 92_000 + stamp;
const SAVED = 93_000 + stamp;
const vmDir = `${DL}/${SYS_DS}/${VM}`;
const disk0 = `lv-one-${VM}-0`;
const img = (id: number) => `lv-oneimg-${id}`;

let env: FrontEnd;
let n1: Runner;
let n2: Runner;
let sum = '';

const disks = () => [
  { id: 0, sizeMiB: 32, source: `${VG}/${img(IMG)}` },
  { id: 1, type: 'CONTEXT' },
];

async function transfer(lines: string[], op = 'prolog', lcm = 3, host = 'node1') {
  await env.setVm(VM, vmXml(VM, host, disks(), lcm));
  const r = await env.tm.transferLines(VM, lines, op);
  expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
  return r;
}

beforeAll(async () => {
  env = await setUpFrontEnd();
  n1 = env.root('node1');
  n2 = env.root('node2');
  await sh(n1, ['mkdir', '-p', `/var/lib/one/datastores/${SYS_DS}`]);
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', '16m', '-n', img(IMG), VG]);
  await sh(n1, ddFill(`/dev/${VG}/${img(IMG)}`, 16));
  sum = (await sh(n1, ['sha256sum', `/dev/${VG}/${img(IMG)}`])).split(' ')[0] as string;
  await sh(n1, ['lvchange', '-an', `${VG}/${img(IMG)}`]);
  await transfer([`CLONE gfs2clvm fe:${VG}/${img(IMG)} node1:${vmDir}/disk.0 ${VM} ${IMG_DS}`]);
}, 900_000);

afterAll(async () => {
  if (n1) await cleanUp(env, VM, [disk0, img(IMG), img(SAVED)]);
}, 600_000);

describe('operations on a deployed VM', () => {
  it('monitor of the system datastore: VG usage in MiB as oned wants it', async () => {
    const payload = await readFile(
      new URL('fixtures/sysds-monitor-action-data.xml', import.meta.url),
      'utf8',
    );
    const r = await env.ds.dsAction(
      'MONITOR',
      SYS_DS,
      payload.replaceAll('<TM_MAD><![CDATA[fs_lvm]]></TM_MAD>', '<TM_MAD><![CDATA[gfs2clvm]]></TM_MAD>'),
    );
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    const answer = Buffer.from(r.info ?? '', 'base64').toString('utf8');
    const m = /^USED_MB=(\d+) FREE_MB=(\d+) TOTAL_MB=(\d+)\n$/.exec(answer);
    expect(m, answer).not.toBeNull();
    const [used, free, total] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
    expect(used + free).toBe(total);
    const vgs = await sh(n1, ['vgs', '--noheadings', '--units', 'm', '--nosuffix', '-o', 'vg_size', VG]);
    expect(total).toBe(Math.floor(Number(vgs)));
  });

  it('context: builds the ISO on the front-end and streams it into disk.1 on GFS2', async () => {
    const contextSh = join(env.dir, 'context.sh');
    const extra = join(env.dir, 'payload.txt');
    await writeFile(contextSh, "ETH0_IP='10.0.0.7'\n");
    await writeFile(extra, 'hello from the front-end\n');
    // A file the VM names in a restricted directory: one line, and no ISO on GFS2 (issue 14 item 7).
    const shadow = await env.tm.tmCommand(VM, [
      'CONTEXT',
      'gfs2clvm',
      contextSh,
      '/etc/shadow',
      `node1:${vmDir}/disk.1`,
      String(VM),
      String(SYS_DS),
    ]);
    expect(shadow.result).toBe('FAILURE');
    expect(shadow.info).toMatch(
      /^context file refused: path restricted: "\/etc\/shadow" resolves into \/etc on /,
    );
    expect(await sh(n2, ['find', `/var/lib/one/datastores/${SYS_DS}/${VM}`, '-name', '*disk.1*'])).toBe('');
    const r = await env.tm.tmCommand(VM, [
      'CONTEXT',
      'gfs2clvm',
      contextSh,
      `${extra}:'init.txt'`,
      `node1:${vmDir}/disk.1`,
      String(VM),
      String(SYS_DS),
    ]);
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    const iso = `/var/lib/one/datastores/${SYS_DS}/${VM}/disk.1`;
    // Written on node1, read on node2: the same GFS2.
    expect(await sh(n2, ['blkid', '-o', 'value', '-s', 'LABEL', iso])).toBe('CONTEXT');
    expect(await sh(n2, ['find', `/var/lib/one/datastores/${SYS_DS}/${VM}`, '-name', '.disk.*'])).toBe('');
  });

  it('resize of a running VM: grows the LV, zeroes the new range, keeps the data', async () => {
    await transfer([`RESIZE gfs2clvm node1:${vmDir}/disk.0 48 ${VM} ${IMG_DS}`], 'disk_resize');
    expect(
      await sh(n1, ['lvs', '--noheadings', '--units', 'm', '--nosuffix', '-o', 'lv_size', `${VG}/${disk0}`]),
    ).toBe('48.00');
    expect(await sumOf(n1, `/dev/${VG}/${disk0}`, 0, 16)).toBe(sum);
    expect(await sumOf(n1, `/dev/${VG}/${disk0}`, 16, 32)).toBe(await zeroSum(n1, 32));
    const shrink = await env.tm.transferLines(VM, [
      `RESIZE gfs2clvm node1:${vmDir}/disk.0 16 ${VM} ${IMG_DS}`,
    ]);
    expect(shrink.reply).toMatch(/^TRANSFER FAILURE \d+ resize lv-one-\d+-0 to 16 MiB: shrinking refused/);
  });

  it('cold migration node1 → node2 moves the exclusive lock and the tag', async () => {
    await transfer(
      [
        `MV gfs2clvm node1:${vmDir}/disk.0 node2:${vmDir}/disk.0 ${VM} ${IMG_DS}`,
        `MV gfs2clvm node1:${vmDir}/disk.1 node2:${vmDir}/disk.1 ${VM} ${SYS_DS}`,
        `MV gfs2clvm node1:${vmDir} node2:${vmDir} ${VM} ${SYS_DS}`,
      ],
      'migrate',
      8,
    );
    expect(await lvState(n1, VG, disk0)).toMatchObject({ active: false, lock: null });
    expect(await lvState(n2, VG, disk0)).toMatchObject({
      active: true,
      lock: 'ex',
      tags: ['one_active_node2'],
    });
    expect(await sumOf(n2, `/dev/${VG}/${disk0}`, 0, 16)).toBe(sum);
  });

  it('undeploy to the front-end, then resume on node1', async () => {
    await transfer(
      [
        `MV gfs2clvm node2:${vmDir}/disk.0 fe:${vmDir}/disk.0 ${VM} ${IMG_DS}`,
        `MV gfs2clvm node2:${vmDir} fe:${vmDir} ${VM} ${SYS_DS}`,
      ],
      'epilog',
      30,
      'node2',
    );
    for (const runner of [n1, n2])
      expect(await lvState(runner, VG, disk0)).toMatchObject({ active: false, lock: null, tags: [] });
    await transfer(
      [
        `MV gfs2clvm fe:${vmDir}/disk.0 node1:${vmDir}/disk.0 ${VM} ${IMG_DS}`,
        `MV gfs2clvm fe:${vmDir} node1:${vmDir} ${VM} ${SYS_DS}`,
      ],
      'prolog',
      9,
    );
    expect(await lvState(n1, VG, disk0)).toMatchObject({
      active: true,
      lock: 'ex',
      tags: ['one_active_node1'],
    });
    expect(await lvState(n2, VG, disk0)).toMatchObject({ active: false, lock: null });
  });

  it('disk-saveas: refused while running, copies into a new inactive image LV when powered off', async () => {
    const line = `CPDS gfs2clvm node1:${vmDir}/disk.0 ${VG}/${img(SAVED)} -1 ${VM} ${IMG_DS}`;
    await env.setVm(VM, vmXml(VM, 'node1', disks(), 26));
    const refused = await env.tm.transferLines(VM, [line], 'disk_saveas');
    expect(refused.reply).toBe(
      `TRANSFER FAILURE ${VM} disk-saveas of running VM ${VM} refused: power it off first`,
    );
    expect(await lvState(n1, VG, img(SAVED))).toBeNull();
    await transfer([line], 'disk_saveas', 43);
    const saved = await lvState(n1, VG, img(SAVED));
    expect(saved).toMatchObject({ active: false, lock: null });
    await sh(n1, ['lvchange', '-ay', `${VG}/${img(SAVED)}`]);
    expect(await sumOf(n1, `/dev/${VG}/${img(SAVED)}`, 0, 16)).toBe(sum);
    await sh(n1, ['lvchange', '-an', `${VG}/${img(SAVED)}`]);
    expect(await lvState(n1, VG, disk0)).toMatchObject({ active: true, lock: 'ex' }); // the VM's disk untouched
  });

  it('terminate of an undeployed VM: the front-end delete runs on a cluster host, nothing left', async () => {
    await transfer([`MV gfs2clvm node1:${vmDir}/disk.0 fe:${vmDir}/disk.0 ${VM} ${IMG_DS}`], 'epilog', 30);
    await transfer(
      [
        `DELETE gfs2clvm fe:${vmDir}/disk.0 ${VM} ${IMG_DS}`,
        `DELETE gfs2clvm fe:${vmDir}/disk.1 ${VM} ${SYS_DS}`,
        `DELETE gfs2clvm fe:${vmDir} ${VM} ${SYS_DS}`,
      ],
      'delete',
      30,
    );
    expect(await lvState(n1, VG, disk0)).toBeNull();
    expect(await lvState(n1, VG, img(IMG))).not.toBeNull();
    expect(
      (await n2.run(['test', '-e', `/var/lib/one/datastores/${SYS_DS}/${VM}`], { reject: false })).exitCode,
    ).toBe(1);
  });
});
