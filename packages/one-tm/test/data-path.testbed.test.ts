import { mapFromExtents, mapTag, parseQemuImgMap, WRITTEN_TAG } from '@one-gfs2clvm/driver-runtime';
import { vmXml as harnessVmXml } from '@one-gfs2clvm/one-harness';

import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, IMG_DS, SYS_DS, VG } from './cluster.js';
import { ddFill } from './fill.js';
import { cleanUp, type FrontEnd, lvState, setUpFrontEnd, sh, sumOf, vmXml, zeroSum } from './suite.js';

// The thick clone data path never leaves the previous tenant's data readable. A clone with
// ZERO_ON_CREATE wipes the new LV whole and then skips the image's zero blocks; skipping zeros is
// only safe because of that wipe. To prove it the new LV must land on extents that held data:
// a pattern LV of the same size is written and removed just before the clone, and the test checks
// that the clone got (some of) its extents. A datastore with ZERO_ON_CREATE=NO must copy every
// block of the image (no skipping onto a target that was not wiped).

const NO_ZERO_DS = 160; // a system datastore of the same VG with ZERO_ON_CREATE=NO
const THIN_DS = 161; // a system datastore of the same VG with THIN_PROVISIONING=YES
const IMG = 610;
const img = `lv-oneimg-${IMG}`;
const IMG_MIB = 16; // 4 MiB of random data, then 12 MiB of zeros
const DISK_MIB = 24; // 8 MiB tail beyond the image
const PATTERN = '\\245'; // octal for tr: 0xA5

let env: FrontEnd;
let n1: Runner;
let imageSum = '';

async function peRanges(lv: string): Promise<string[]> {
  const out = await sh(n1, ['lvs', '--noheadings', '-o', 'seg_pe_ranges', `${VG}/${lv}`]);
  return out.split(/\s+/).filter(Boolean);
}

/** `/dev/vda:100-105` → the extents it covers. */
function extents(ranges: string[]): Set<string> {
  const set = new Set<string>();
  for (const range of ranges) {
    const [pv, span = ''] = range.split(':');
    const [from, to] = span.split('-').map(Number);
    for (let pe = from as number; pe <= (to as number); pe++) set.add(`${pv}:${pe}`);
  }
  return set;
}

/** Writes the pattern over a new LV of `mib` MiB, removes it and returns the extents it had. */
async function stalePattern(name: string, mib: number): Promise<Set<string>> {
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', `${mib}m`, '-n', name, VG]);
  await sh(n1, [
    'sh',
    '-c',
    `tr '\\0' '${PATTERN}' < /dev/zero | dd of="$1" bs=1M count="$2" iflag=fullblock oflag=direct status=none`,
    'fill',
    `/dev/${VG}/${name}`,
    String(mib),
  ]);
  const held = extents(await peRanges(name));
  await sh(n1, ['lvchange', '-an', `${VG}/${name}`]);
  await sh(n1, ['lvremove', '-y', `${VG}/${name}`]);
  return held;
}

async function cloneInto(vm: number, ds: number, image = img): Promise<string> {
  const r = await env.tm.transferLines(vm, [
    `CLONE gfs2clvm fe:${VG}/${image} node1:${DL}/${ds}/${vm}/disk.0 ${vm} ${IMG_DS}`,
  ]);
  const log = r.lines.join('\n');
  expect(r.reply, log).toBe(`TRANSFER SUCCESS ${vm} -`);
  return log;
}

/**
 * Pattern LV written and removed, then the clone; repeated (at most 3 times) when another suite's
 * lvcreate took those extents in between, until the clone's LV covers some of them.
 */
async function cloneOntoStale(vm: number, ds: number, mib: number, image = img): Promise<string> {
  const target = `lv-one-${vm}-0`;
  let overlap = 0;
  let why = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const stale = await stalePattern(`lv-one-${vm}-9`, mib);
    const log = await cloneInto(vm, ds, image);
    const now = extents(await peRanges(target));
    overlap = [...now].filter((pe) => stale.has(pe)).length;
    if (overlap > 0) return log;
    why = `pattern on ${[...stale]}, clone on ${[...now]}`;
    await sh(n1, ['lvchange', '-an', `${VG}/${target}`]);
    await sh(n1, ['lvremove', '-y', `${VG}/${target}`]);
    await sh(n1, ['rm', '-rf', `/var/lib/one/datastores/${ds}/${vm}`]);
  }
  expect(overlap, why).toBeGreaterThan(0);
  return '';
}

beforeAll(async () => {
  env = await setUpFrontEnd({
    datastores: {
      [NO_ZERO_DS]: { VG_NAME: VG, ZERO_ON_CREATE: 'NO' },
      // ZERO_ON_DELETE=NO: the pool's wipe is the thin suite's business, not this one's (time).
      [THIN_DS]: { VG_NAME: VG, THIN_PROVISIONING: 'YES', ZERO_ON_DELETE: 'NO' },
    },
  });
  n1 = env.root('node1');
  const dirs = [SYS_DS, NO_ZERO_DS, THIN_DS].map((ds) => `/var/lib/one/datastores/${ds}`);
  await sh(n1, ['sh', '-c', 'mkdir -p -- "$@" && chown oneadmin:oneadmin -- "$@"', 'dirs', ...dirs]);
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', `${IMG_MIB}m`, '-n', img, VG]);
  await sh(n1, ['blkdiscard', '--zeroout', `/dev/${VG}/${img}`]);
  await sh(n1, ddFill(`/dev/${VG}/${img}`, 4));
  imageSum = await sumOf(n1, `/dev/${VG}/${img}`, 0, IMG_MIB);
  await sh(n1, ['lvchange', '-an', `${VG}/${img}`]);
}, 600_000);

afterAll(async () => {
  if (!env) return;
  const lenient = { reject: false, timeoutMs: 60_000 };
  for (const ds of [NO_ZERO_DS, THIN_DS])
    await n1.run(['rm', '-rf', `/var/lib/one/datastores/${ds}`], lenient);
  await n1.run(['rm', '-rf', MAP_DIR], lenient);
  for (const vm of [612, 614, 615])
    await n1.run(['rm', '-rf', `/var/lib/one/datastores/${SYS_DS}/${vm}`], lenient);
  await cleanUp(env, 610, [
    img,
    mapImg,
    'lv-one-610-0',
    'lv-one-610-9',
    'lv-one-611-0',
    'lv-one-611-9',
    'lv-one-612-0',
    'lv-one-612-9',
    'lv-one-613-0',
    'lv-one-613-pool',
    'lv-one-615-0',
    'lv-one-615-9',
  ]);
}, 600_000);

describe('thick clone onto extents that held other data', () => {
  it('ZERO_ON_CREATE: whole LV wiped, zero blocks skipped, no stale byte readable', async () => {
    const vm = 610;
    await env.setVm(vm, vmXml(vm, 'node1', [{ id: 0, sizeMiB: DISK_MIB, source: `${VG}/${img}` }]));
    const log = await cloneOntoStale(vm, SYS_DS, DISK_MIB);
    const dev = `/dev/${VG}/lv-one-${vm}-0`;
    // The fast path was taken (the testbed's virtio disk offloads write-zeroes) …
    expect(log).toMatch(/copy .* \(zero blocks skipped\)/);
    // … onto extents that held the pattern (cloneOntoStale), and the LV reads as the image
    // followed by zeros: not one pattern byte left.
    expect(await sumOf(n1, dev, 0, IMG_MIB)).toBe(imageSum);
    expect(await sumOf(n1, dev, IMG_MIB, DISK_MIB - IMG_MIB)).toBe(await zeroSum(n1, DISK_MIB - IMG_MIB));
  });

  it('ZERO_ON_CREATE=NO: every block of the image is copied (no skipping onto an unwiped LV)', async () => {
    const vm = 611;
    await env.setVm(vm, vmXml(vm, 'node1', [{ id: 0, sizeMiB: IMG_MIB, source: `${VG}/${img}` }]));
    const log = await cloneOntoStale(vm, NO_ZERO_DS, IMG_MIB);
    expect(log).not.toMatch(/zero blocks skipped/);
    expect(log).not.toMatch(/wipe /);
    expect(await sumOf(n1, `/dev/${VG}/lv-one-${vm}-0`, 0, IMG_MIB)).toBe(imageSum);
  });
});

// Allocation maps (alloc-map.ts): an image LV made the way the image driver imports a file — a
// sparse file converted with `qemu-img convert -n`, the map from `qemu-img map` of the file as a
// tag — is cloned reading only its chunks with data, onto a wiped thick LV that held other data
// and into a thin LV; both read back equal to the image. Once a persistent `ln` has given the
// image to a VM (which may write anywhere), the map is no longer trusted.
const MAP_IMG = 612;
const mapImg = `lv-oneimg-${MAP_IMG}`;
const MAP_DIR = '/var/lib/one/datastores/.data-path-map';
const MAP_MIB = 64; // 16 chunks of 4 MiB; data in chunks 2 (4 MiB) and 10–11 (6 MiB from 40 MiB)

describe('clone of an image with an allocation map', () => {
  let mapSum = '';
  const dev = `/dev/${VG}/${mapImg}`;

  beforeAll(async () => {
    const file = `${MAP_DIR}/image.raw`;
    await sh(n1, ['mkdir', '-p', MAP_DIR]);
    await sh(n1, ['truncate', '-s', `${MAP_MIB}M`, file]);
    for (const [seek, count] of [
      [8, 4],
      [40, 6],
    ])
      await sh(n1, [
        'dd',
        'if=/dev/urandom',
        `of=${file}`,
        'bs=1M',
        `seek=${seek}`,
        `count=${count}`,
        'conv=notrunc',
        'status=none',
      ]);
    const fileExtents = parseQemuImgMap(
      await sh(n1, ['qemu-img', 'map', '--output=json', '-f', 'raw', file]),
    );
    const tag = mapTag(mapFromExtents(MAP_MIB * 2 ** 20, fileExtents)) as string;
    // The image LV on extents that held the pattern (retried when another suite took them): the
    // chunks the map calls empty must read as zeros because the import's `convert -n` wrote them.
    let overlap = 0;
    for (let attempt = 0; attempt < 3 && overlap === 0; attempt++) {
      await n1.run(['lvremove', '-y', `${VG}/${mapImg}`], { reject: false, timeoutMs: 120_000 });
      const stale = await stalePattern('lv-one-612-9', MAP_MIB);
      await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', `${MAP_MIB}m`, '-n', mapImg, VG]);
      overlap = [...extents(await peRanges(mapImg))].filter((pe) => stale.has(pe)).length;
      if (overlap === 0) await sh(n1, ['lvchange', '-an', `${VG}/${mapImg}`]);
    }
    expect(overlap).toBeGreaterThan(0);
    await sh(n1, ['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'raw', '-n', '-t', 'none', file, dev]);
    mapSum = await sumOf(n1, dev, 0, MAP_MIB);
    expect(mapSum).toBe((await sh(n1, ['sha256sum', file])).split(' ')[0]);
    await sh(n1, ['lvchange', '-an', '--addtag', tag, `${VG}/${mapImg}`]);
  }, 600_000);

  it('thick, ZERO_ON_CREATE: only the 10 MiB with data read (12 MiB of chunks), no stale byte readable', async () => {
    const vm = 612;
    await env.setVm(vm, vmXml(vm, 'node1', [{ id: 0, sizeMiB: MAP_MIB, source: `${VG}/${mapImg}` }]));
    // Onto extents that held the pattern (written and removed right before), like the first test.
    const log = await cloneOntoStale(vm, SYS_DS, MAP_MIB, mapImg);
    expect(log).toMatch(/allocation map: 12 of 64 MiB to copy/);
    expect(log).toMatch(/copy .* \(2 ranges, 12 MiB\)/);
    expect(await sumOf(n1, `/dev/${VG}/lv-one-${vm}-0`, 0, MAP_MIB)).toBe(mapSum);
  });

  it('thin: only the chunks with data read, the thin LV equal to the image', async () => {
    const vm = 613;
    const disks = [{ id: 0, sizeMiB: MAP_MIB, source: `${VG}/${mapImg}` }];
    await env.setVm(vm, harnessVmXml({ id: vm, host: 'node1', disks, systemDs: THIN_DS, imageDs: IMG_DS }));
    const r = await env.tm.transferLines(vm, [
      `CLONE gfs2clvm fe:${VG}/${mapImg} node1:${DL}/${THIN_DS}/${vm}/disk.0 ${vm} ${IMG_DS}`,
    ]);
    const log = r.lines.join('\n');
    expect(r.reply, log).toBe(`TRANSFER SUCCESS ${vm} -`);
    expect(log).toMatch(/copy .* \(2 ranges, 12 MiB\)/);
    expect(await sumOf(n1, `/dev/${VG}/lv-one-${vm}-0`, 0, MAP_MIB)).toBe(mapSum);
    const del = await env.tm.transferLines(vm, [
      `DELETE gfs2clvm node1:${DL}/${THIN_DS}/${vm}/disk.0 ${vm} ${THIN_DS}`,
      `DELETE gfs2clvm node1:${DL}/${THIN_DS}/${vm} ${vm} ${THIN_DS}`,
    ]);
    expect(del.reply, del.lines.join('\n')).toBe(`TRANSFER SUCCESS ${vm} -`);
  });

  it('after a persistent ln (one_written), the whole image is read: what the VM wrote is in the clone', async () => {
    const vm = 614;
    await env.setVm(
      vm,
      vmXml(vm, 'node1', [{ id: 0, sizeMiB: MAP_MIB, source: `${VG}/${mapImg}`, persistent: true }]),
    );
    const ln = await env.tm.transferLines(vm, [
      `LN gfs2clvm fe:${VG}/${mapImg} node1:${DL}/${SYS_DS}/${vm}/disk.0 ${vm} ${IMG_DS}`,
    ]);
    expect(ln.reply, ln.lines.join('\n')).toBe(`TRANSFER SUCCESS ${vm} -`);
    expect((await lvState(n1, VG, mapImg))?.tags).toEqual(
      expect.arrayContaining([WRITTEN_TAG, 'one_active_node1', expect.stringMatching(/^one_map\./)]),
    );
    // The VM writes into chunk 5, which the map says is zeros.
    await sh(n1, [
      'dd',
      'if=/dev/urandom',
      `of=${dev}`,
      'bs=1M',
      'seek=20',
      'count=1',
      'oflag=direct',
      'conv=notrunc',
      'status=none',
    ]);
    const written = await sumOf(n1, dev, 0, MAP_MIB);
    const del = await env.tm.transferLines(vm, [
      `DELETE gfs2clvm node1:${DL}/${SYS_DS}/${vm}/disk.0 ${vm} ${IMG_DS}`,
      `DELETE gfs2clvm node1:${DL}/${SYS_DS}/${vm} ${vm} ${SYS_DS}`,
    ]);
    expect(del.reply, del.lines.join('\n')).toBe(`TRANSFER SUCCESS ${vm} -`);

    const clone = 615;
    await env.setVm(clone, vmXml(clone, 'node1', [{ id: 0, sizeMiB: MAP_MIB, source: `${VG}/${mapImg}` }]));
    const log = await cloneInto(clone, SYS_DS, mapImg);
    expect(log).toMatch(/whole image read \(one_written/);
    const cloned = `/dev/${VG}/lv-one-${clone}-0`;
    expect(await sumOf(n1, cloned, 0, MAP_MIB)).toBe(written);
    // The MiB the VM wrote is not zeros in the clone (what a copy by the stale map would leave).
    expect(await sumOf(n1, cloned, 20, 1)).not.toBe(await zeroSum(n1, 1));
  });
});
