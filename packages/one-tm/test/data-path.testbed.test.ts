import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUp, type Env, IMG_DS, SYS_DS, setUpEnv, sh, sumOf, VG, vmXml, zeroSum } from './testbed-env.js';

// The thick clone data path never leaves the previous tenant's data readable. A clone with
// ZERO_ON_CREATE wipes the new LV whole and then skips the image's zero blocks; skipping zeros is
// only safe because of that wipe. To prove it the new LV must land on extents that held data:
// a pattern LV of the same size is written and removed just before the clone, and the test checks
// that the clone got (some of) its extents. A datastore with ZERO_ON_CREATE=NO must copy every
// block of the image (no skipping onto a target that was not wiped).

const DL = '/var/lib/one//datastores';
const NO_ZERO_DS = 160; // a system datastore of the same VG with ZERO_ON_CREATE=NO
const IMG = 610;
const img = `lv-oneimg-${IMG}`;
const IMG_MIB = 16; // 4 MiB of random data, then 12 MiB of zeros
const DISK_MIB = 24; // 8 MiB tail beyond the image
const PATTERN = '\\245'; // octal for tr: 0xA5

let env: Env;
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

async function cloneInto(vm: number, ds: number): Promise<string> {
  const r = await env.tm.transferLines(vm, [
    `CLONE gfs2clvm fe:${VG}/${img} node1:${DL}/${ds}/${vm}/disk.0 ${vm} ${IMG_DS}`,
  ]);
  const log = r.lines.join('\n');
  expect(r.reply, log).toBe(`TRANSFER SUCCESS ${vm} -`);
  return log;
}

/**
 * Pattern LV written and removed, then the clone; repeated (at most 3 times) when another suite's
 * lvcreate took those extents in between, until the clone's LV covers some of them.
 */
async function cloneOntoStale(vm: number, ds: number, mib: number): Promise<string> {
  const target = `lv-one-${vm}-0`;
  let overlap = 0;
  let why = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const stale = await stalePattern(`lv-one-${vm}-9`, mib);
    const log = await cloneInto(vm, ds);
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
  env = await setUpEnv({ datastores: { [NO_ZERO_DS]: { VG_NAME: VG, ZERO_ON_CREATE: 'NO' } } });
  n1 = env.root('node1');
  const dirs = [SYS_DS, NO_ZERO_DS].map((ds) => `/var/lib/one/datastores/${ds}`);
  await sh(n1, ['sh', '-c', 'mkdir -p -- "$@" && chown oneadmin:oneadmin -- "$@"', 'dirs', ...dirs]);
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', `${IMG_MIB}m`, '-n', img, VG]);
  await sh(n1, ['blkdiscard', '--zeroout', `/dev/${VG}/${img}`]);
  await sh(n1, [
    'dd',
    'if=/dev/urandom',
    `of=/dev/${VG}/${img}`,
    'bs=1M',
    'count=4',
    'oflag=direct',
    'status=none',
  ]);
  imageSum = await sumOf(n1, `/dev/${VG}/${img}`, 0, IMG_MIB);
  await sh(n1, ['lvchange', '-an', `${VG}/${img}`]);
}, 600_000);

afterAll(async () => {
  if (!env) return;
  await n1.run(['rm', '-rf', `/var/lib/one/datastores/${NO_ZERO_DS}`], { reject: false, timeoutMs: 60_000 });
  await cleanUp(env, 610, [img, 'lv-one-610-0', 'lv-one-610-9', 'lv-one-611-0', 'lv-one-611-9']);
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
