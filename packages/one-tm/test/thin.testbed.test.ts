import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolMetadataBytes } from '../src/thin.js';
import { DL, IMG_DS, MiB, SYS_DS, VG } from './cluster.js';
import { ddFill } from './fill.js';
import {
  cleanUp,
  type FrontEnd,
  lvState,
  lvsRows,
  setUpFrontEnd,
  sh,
  sumOf,
  vmXml,
  zeroSum,
} from './suite.js';

// Thin provisioning (THIN_PROVISIONING=yes on the system datastore) on the real cluster, through
// the one_tm.rb stand-in running the BUILT scripts: a pool per VM, thin clone/mkimage/mkswap,
// thin snapshots (create, revert, delete, saveas of a snapshot), resize, live migration refused,
// cold migration / stop / resume moving the pool, terminate leaving nothing. VM ids 500–599.

const VM = 520;
const IMG = 521; // thick image, 8 MiB of random data then 8 MiB of zeros
const SAVED = 522; // image made by disk-saveas of a snapshot
const vmDir = `${DL}/${SYS_DS}/${VM}`;
const lv = (disk: number) => `lv-one-${VM}-${disk}`;
const POOL = `lv-one-${VM}-pool`;
const SNAP0 = `${lv(0)}-snap-0`;
const img = (id: number) => `lv-oneimg-${id}`;
const dev = (name: string) => `/dev/${VG}/${name}`;

let env: FrontEnd;
let n1: Runner;
let n2: Runner;
let imageSum = '';
let disk0Sum = '';

const disks = () => [
  { id: 0, sizeMiB: 32, source: `${VG}/${img(IMG)}` },
  { id: 1, type: 'fs', sizeMiB: 16, fs: 'ext4' },
  { id: 2, type: 'swap', sizeMiB: 16 },
];

interface LvRow {
  segtype: string;
  pool: string;
  origin: string;
  attr: string;
  sizeMiB: number;
  dataPercent: number;
  tags: string[];
  metadataMiB: number;
}

/** Every LV of the VG whose name starts with `prefix`, as `host` sees it. */
async function lvRows(runner: Runner, prefix: string): Promise<Record<string, LvRow>> {
  const fields = [
    'segtype',
    'pool_lv',
    'origin',
    'lv_attr',
    'lv_size',
    'data_percent',
    'lv_tags',
    'lv_metadata_size',
  ];
  const rows: Record<string, LvRow> = {};
  for (const r of await lvsRows(runner, VG, prefix, fields)) {
    rows[r.lv_name as string] = {
      segtype: r.segtype ?? '',
      pool: r.pool_lv ?? '',
      origin: r.origin ?? '',
      attr: r.lv_attr ?? '',
      sizeMiB: Number(r.lv_size) / MiB,
      dataPercent: Number(r.data_percent || 0),
      tags: r.lv_tags ? r.lv_tags.split(',') : [],
      metadataMiB: Number(r.lv_metadata_size || 0) / MiB,
    };
  }
  return rows;
}

/** The pool can hold every thin LV in it fully provisioned (the driver never overcommits). */
function expectNoOvercommit(rows: Record<string, LvRow>): void {
  const virtual = Object.values(rows)
    .filter((r) => r.pool === POOL)
    .reduce((sum, r) => sum + r.sizeMiB, 0);
  expect(rows[POOL]?.sizeMiB).toBeGreaterThanOrEqual(virtual);
}

const line = (action: string, ...args: Array<string | number>) => `${action} gfs2clvm ${args.join(' ')}`;

/** One TM command as the VMM driver runs it: `info` is the user's line on failure. */
async function command(action: string, args: Array<string | number>, stdin?: string) {
  const r = await env.tm.tmCommand(VM, [action, 'gfs2clvm', ...args.map(String)], stdin);
  return { ok: r.result === 'SUCCESS', info: r.info, all: r.lines.join('\n') };
}

async function transfer(lines: string[]) {
  const r = await env.tm.transferLines(VM, lines);
  return { ...r, ok: r.reply === `TRANSFER SUCCESS ${VM} -`, all: r.lines.join('\n') };
}

beforeAll(async () => {
  env = await setUpFrontEnd({
    datastores: { [SYS_DS]: { SHARED: 'YES', TM_MAD: 'gfs2clvm', THIN_PROVISIONING: 'YES' } },
  });
  n1 = env.root('node1');
  n2 = env.root('node2');
  await sh(n1, ['mkdir', '-p', `/var/lib/one/datastores/${SYS_DS}`]);
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', '16m', '-n', img(IMG), VG]);
  await sh(n1, ddFill(dev(img(IMG)), 8));
  await sh(n1, ddFill(dev(img(IMG)), 8, { from: '/dev/zero', seek: 8 }));
  imageSum = await sumOf(n1, dev(img(IMG)), 0, 16);
  await sh(n1, ['lvchange', '-an', `${VG}/${img(IMG)}`]);
  await env.setVm(VM, vmXml(VM, 'node1', disks()));
}, 600_000);

afterAll(async () => {
  if (n1) await cleanUp(env, VM, [SNAP0, `${lv(0)}-revert`, lv(0), lv(1), lv(2), POOL, img(IMG), img(SAVED)]);
}, 600_000);

describe('thin provisioning: a pool per VM', () => {
  it('instantiates thin disks in one pool on node1: sparse clone, mkimage, mkswap', async () => {
    const r = await transfer([
      line('CLONE', `fe:${VG}/${img(IMG)}`, `node1:${vmDir}/disk.0`, VM, IMG_DS),
      line('MKIMAGE', 16, 'raw', `node1:${vmDir}/disk.1`, VM, SYS_DS),
      line('MKSWAP', 16, `node1:${vmDir}/disk.2`, VM, SYS_DS),
    ]);
    expect(r.ok, r.all).toBe(true);
    const rows = await lvRows(n1, `lv-one-${VM}-`);
    expect(rows[POOL]).toMatchObject({ segtype: 'thin-pool' });
    expect(rows[POOL]?.attr[7], 'pool zeroes new blocks').toBe('z');
    expect(rows[POOL]?.sizeMiB).toBeGreaterThanOrEqual(64); // 32 + 16 + 16: never overcommitted
    expectNoOvercommit(rows);
    for (const d of [0, 1, 2]) {
      expect(rows[lv(d)], lv(d)).toMatchObject({ segtype: 'thin', pool: POOL });
      expect(rows[lv(d)]?.tags).toContain('one_active_node1');
    }
    // The clone skipped the image's zero half: about 8 of 32 MiB provisioned.
    expect(rows[lv(0)]?.dataPercent).toBeLessThan(30);
    expect(await sumOf(n1, dev(lv(0)), 0, 16)).toBe(imageSum);
    expect(await sumOf(n1, dev(lv(0)), 16, 16)).toBe(await zeroSum(n1, 16));
    expect(await sh(n1, ['blkid', '-o', 'value', '-s', 'TYPE', dev(lv(1))])).toBe('ext4');
    expect(await sh(n1, ['blkid', '-o', 'value', '-s', 'TYPE', dev(lv(2))])).toBe('swap');
    // The pool (and so every thin LV) is held exclusively by node1: node2 cannot take a disk.
    expect(await lvState(n1, VG, POOL)).toMatchObject({ lock: 'ex' });
    const stolen = await n2.run(['lvchange', '-aey', `${VG}/${lv(0)}`], {
      reject: false,
      timeoutMs: 120_000,
    });
    expect(stolen.exitCode).not.toBe(0);
    disk0Sum = await sumOf(n1, dev(lv(0)), 0, 32);
  }, 1_200_000);

  it('refuses live migration of thin disks with one line, changing nothing', async () => {
    const r = await command(
      'PREMIGRATE',
      ['node1', 'node2', `${DL}/${SYS_DS}/${VM}`, VM, SYS_DS],
      env.vmB64(vmXml(VM, 'node1', disks())),
    );
    expect(r.ok).toBe(false);
    expect(r.info).toMatch(/live migration of thin\/snapshot disk lv-one-520-\d refused/);
    expect(await lvState(n1, VG, lv(0))).toMatchObject({ active: true, lock: null });
    expect(await lvState(n2, VG, lv(0))).toMatchObject({ active: false });
  }, 1_200_000);

  it('snapshot, overwrite, revert gives the original data back; the snapshot stays; retries succeed', async () => {
    const snap = (action: string, id: number) => line(action, `node1:${vmDir}/disk.0`, id, VM, IMG_DS);
    let r = await transfer([snap('SNAP_CREATE', 0), snap('SNAP_CREATE', 0)]);
    expect(r.ok, r.all).toBe(true);
    let rows = await lvRows(n1, `lv-one-${VM}-`);
    expect(rows[SNAP0]).toMatchObject({ segtype: 'thin', pool: POOL, origin: lv(0) });
    expect(rows[SNAP0]?.tags).toEqual([]); // never re-activated at boot
    expect(rows[SNAP0]?.attr[4], 'snapshot left inactive').toBe('-');
    expectNoOvercommit(rows); // room for the snapshot too

    await sh(n1, ddFill(dev(lv(0)), 4));
    expect(await sumOf(n1, dev(lv(0)), 0, 32)).not.toBe(disk0Sum);

    r = await transfer([snap('SNAP_REVERT', 0), snap('SNAP_REVERT', 0)]);
    expect(r.ok, r.all).toBe(true);
    expect(await sumOf(n1, dev(lv(0)), 0, 32)).toBe(disk0Sum);
    expect(await sh(n1, ['readlink', `${vmDir}/disk.0`])).toBe(dev(lv(0)));
    rows = await lvRows(n1, `lv-one-${VM}-`);
    expect(rows[lv(0)]).toMatchObject({ segtype: 'thin', pool: POOL, origin: SNAP0 });
    expect(rows[lv(0)]?.tags).toContain('one_active_node1');
    expect(rows[SNAP0]).toBeDefined();
    expect(rows[`${lv(0)}-revert`]).toBeUndefined();
    expect(await lvState(n1, VG, lv(0))).toMatchObject({ active: true });

    const missing = await command('SNAP_REVERT', [`node1:${vmDir}/disk.0`, 7, VM, IMG_DS]);
    expect(missing.ok).toBe(false);
    expect(missing.info).toMatch(/snapshot 7 of lv-one-520-0 not found/);
  }, 1_200_000);

  it('disk-saveas of a snapshot copies the snapshot LV into a new thick image', async () => {
    const saved = `${VG}/${img(SAVED)}`;
    const r = await transfer([line('CPDS', `node1:${vmDir}/disk.0`, saved, 0, VM, IMG_DS)]);
    expect(r.ok, r.all).toBe(true);
    await sh(n1, ['lvchange', '-ay', `${VG}/${img(SAVED)}`]);
    expect(await sumOf(n1, dev(img(SAVED)), 0, 32)).toBe(disk0Sum);
    await sh(n1, ['lvchange', '-an', `${VG}/${img(SAVED)}`]);
    expect((await lvRows(n1, img(SAVED)))[img(SAVED)]).toMatchObject({ segtype: 'linear' });
    await sh(n1, ['lvremove', '-y', saved]);
  }, 1_200_000);

  it('resize grows the pool first; snap_delete removes the snapshot, twice is fine', async () => {
    const r = await transfer([
      line('RESIZE', `node1:${vmDir}/disk.0`, 48, VM, IMG_DS),
      line('SNAP_DELETE', `node1:${vmDir}/disk.0`, 0, VM, IMG_DS),
      line('SNAP_DELETE', `node1:${vmDir}/disk.0`, 0, VM, IMG_DS),
    ]);
    expect(r.ok, r.all).toBe(true);
    const rows = await lvRows(n1, `lv-one-${VM}-`);
    expect(rows[lv(0)]?.sizeMiB).toBe(48);
    expect(rows[SNAP0]).toBeUndefined();
    expectNoOvercommit(rows);
    // The metadata follows the data (poolMetadataBytes; here LVM's own 4 MiB already covers it).
    const pool = rows[POOL];
    expect(pool?.metadataMiB).toBeGreaterThanOrEqual(poolMetadataBytes((pool?.sizeMiB ?? 0) * MiB) / MiB);
    expect(await sumOf(n1, dev(lv(0)), 0, 32)).toBe(disk0Sum);
    expect(await sumOf(n1, dev(lv(0)), 32, 16)).toBe(await zeroSum(n1, 16));
  }, 1_200_000);

  it('cold migration moves the whole pool to node2; stop releases it; resume takes it on node1', async () => {
    const mvLines = (from: string, to: string) => [
      ...[0, 1, 2, 3].map((d) =>
        line('MV', `${from}:${vmDir}/disk.${d}`, `${to}:${vmDir}/disk.${d}`, VM, SYS_DS),
      ),
      line('MV', `${from}:${vmDir}`, `${to}:${vmDir}`, VM, SYS_DS),
    ];
    let r = await transfer(mvLines('node1', 'node2'));
    expect(r.ok, r.all).toBe(true);
    expect(await lvState(n2, VG, POOL)).toMatchObject({ lock: 'ex' });
    expect(await lvState(n1, VG, POOL)).toMatchObject({ active: false, lock: null });
    for (const d of [0, 1, 2]) {
      const s = await lvState(n2, VG, lv(d));
      expect(s?.active, lv(d)).toBe(true);
      // (one_written beside the host tag: every activation for a VM marks the LV, see alloc-map.ts)
      expect(s?.tags.filter((t) => t.startsWith('one_active_'))).toEqual(['one_active_node2']);
    }
    expect(await sumOf(n2, dev(lv(0)), 0, 32)).toBe(disk0Sum);

    r = await transfer(mvLines('node2', 'fe'));
    expect(r.ok, r.all).toBe(true);
    for (const runner of [n1, n2])
      expect(await lvState(runner, VG, POOL)).toMatchObject({ active: false, lock: null });

    r = await transfer(mvLines('fe', 'node1'));
    expect(r.ok, r.all).toBe(true);
    expect(await lvState(n1, VG, POOL)).toMatchObject({ lock: 'ex' });
    const disk1 = await lvState(n1, VG, lv(1));
    expect(disk1?.active).toBe(true);
    expect(disk1?.tags.filter((t) => t.startsWith('one_active_'))).toEqual(['one_active_node1']);
  }, 1_200_000);

  it('terminate removes every thin disk and the pool; the image stays', async () => {
    const r = await transfer([
      ...[0, 1, 2].map((d) => line('DELETE', `node1:${vmDir}/disk.${d}`, VM, d === 0 ? IMG_DS : SYS_DS)),
      line('DELETE', `node1:${vmDir}`, VM, SYS_DS),
    ]);
    expect(r.ok, r.all).toBe(true);
    expect(await lvRows(n1, `lv-one-${VM}-`)).toEqual({});
    expect((await n1.run(['test', '-e', vmDir], { reject: false, timeoutMs: 60_000 })).exitCode).not.toBe(0);
    expect(await lvState(n1, VG, img(IMG))).toMatchObject({ active: false, lock: null });
  }, 1_200_000);
});
