import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lvm, LvmError, type WipeRange } from '../src/index.js';

// Lvm.wipe on real shared LVM (tools/testbed: lvmlockd + sanlock, one LUN seen by two hosts), both
// back-ends: plain LVM as root on node1 (blkdiscard --zeroout), and on node2 the host helper of this
// tree (its `wipe` verb): a copy in the host's /tmp run by root, with a config of its own there, as
// the installer's helper.testbed does (the installed helper and its sudoers are shared by every
// suite and may be missing or older). An LV is filled with a
// pattern, a range is wiped, and the checksums of the bytes before, inside and after the range
// show that exactly the range reads zeros; then the whole LV. Ids of this suite: 4200-4299.
const MiB = 2 ** 20;
const SIZE = 8 * MiB;
const PATTERN = 0xa5;
const HELPER_ASSET = new URL('../../installer/assets/one-gfs2clvm-helper', import.meta.url);

let cluster: Cluster;
let vg: string;
let helperDir = '';
const root: Record<string, Runner> = {};
const admin: Record<string, Lvm> = {};
const created: Array<{ host: string; lv: string }> = [];

const sha = (bytes: number, fill: number) =>
  createHash('sha256').update(Buffer.alloc(bytes, fill)).digest('hex');

/** sha256 of each `[start, length]` byte region of `dev`, read with direct I/O (no page cache). */
async function sums(runner: Runner, dev: string, regions: Array<[number, number]>): Promise<string[]> {
  const script =
    'dev=$1; shift; while [ $# -ge 2 ]; do ' +
    'dd if="$dev" bs=1M skip="$1" count="$2" iflag=direct,skip_bytes,count_bytes status=none | sha256sum | cut -d" " -f1 || exit; ' +
    'shift 2; done';
  const args = regions.flatMap(([start, length]) => [String(start), String(length)]);
  const out = await runner.run(['sh', '-c', script, 'sums', dev, ...args], { timeoutMs: 120_000 });
  return out.stdout.trim().split('\n');
}

/** A new LV of SIZE active on `host`, every byte the pattern. */
async function patterned(host: string, lv: string): Promise<string> {
  created.push({ host, lv });
  await (admin[host] as Lvm).createLv({ vg, lv, sizeBytes: SIZE });
  const dev = `/dev/${vg}/${lv}`;
  await (root[host] as Runner).run(
    [
      'sh',
      '-c',
      `tr '\\0' '\\245' </dev/zero | dd of="$1" bs=1M count=8 iflag=fullblock oflag=direct status=none`,
      'fill',
      dev,
    ],
    { timeoutMs: 120_000 },
  );
  expect(await sums(root[host] as Runner, dev, [[0, SIZE]])).toEqual([sha(SIZE, PATTERN)]);
  return dev;
}

/** Before, inside and after `range`: pattern, zeros, pattern. */
function expectedAround(range: WipeRange): { regions: Array<[number, number]>; sums: string[] } {
  const end = range.offsetBytes + range.lengthBytes;
  return {
    regions: [
      [0, range.offsetBytes],
      [range.offsetBytes, range.lengthBytes],
      [end, SIZE - end],
    ],
    sums: [sha(range.offsetBytes, PATTERN), sha(range.lengthBytes, 0), sha(SIZE - end, PATTERN)],
  };
}

beforeAll(async () => {
  cluster = await attach();
  vg = cluster.sharedVg;
  for (const host of ['node1', 'node2']) {
    root[host] = cluster.host(host).runner('root');
    admin[host] = new Lvm({ runner: root[host] as Runner, retry: false });
  }
  const node2 = root.node2 as Runner;
  helperDir = (await node2.run(['mktemp', '-d', '/tmp/one-gfs2clvm-helper-4200.XXXXXX'])).stdout.trim();
  const script = readFileSync(HELPER_ASSET, 'utf8').replace(/^CONF=\/.*$/m, `CONF=${helperDir}/helper.conf`);
  await node2.run(['sh', '-c', 'cat >"$1"', 'put', `${helperDir}/helper`], { stdin: script });
  // Leftovers of an interrupted run.
  for (const lv of ['lv-one-4200-0', 'lv-one-4201-0'])
    for (const host of ['node1', 'node2']) {
      await (admin[host] as Lvm).ensureInactive(vg, lv);
      await (admin[host] as Lvm).removeLvIfExists(vg, lv).catch(() => undefined);
    }
}, 300_000);

afterAll(async () => {
  if (!cluster) return;
  for (const { host, lv } of created) {
    await admin[host]?.ensureInactive(vg, lv).catch(() => undefined);
    await admin[host]?.removeLvIfExists(vg, lv).catch(() => undefined);
  }
  if (helperDir) await root.node2?.run(['rm', '-rf', '--', helperDir], { reject: false });
  await cluster.close();
}, 300_000);

// 1 MiB + 512 bytes in, 2 MiB + 1 KiB long: sector-aligned, not extent- or page-aligned.
const RANGE: WipeRange = { offsetBytes: MiB + 512, lengthBytes: 2 * MiB + 1024 };

describe('Lvm.wipe on the shared VG', () => {
  for (const [backend, host, lv] of [
    ['lvm', 'node1', 'lv-one-4200-0'],
    ['helper', 'node2', 'lv-one-4201-0'],
  ] as const)
    it(`${backend} back-end on ${host}: exactly the range reads zeros, then the whole LV; beyond the LV nothing is written`, async () => {
      const dev = await patterned(host, lv);
      const runner = root[host] as Runner;
      const lvm =
        backend === 'lvm'
          ? new Lvm({ runner, retry: false })
          : new Lvm({ runner, backend: 'helper', prefix: ['sh', `${helperDir}/helper`], retry: false });

      const beyond = { offsetBytes: 4 * MiB, lengthBytes: 4 * MiB + 512 };
      const refused = await lvm.wipe(vg, lv, beyond).catch((error: unknown) => error);
      expect(LvmError.hasCode(refused, 'INVALID_ARGUMENT'), String(refused)).toBe(true);
      expect((refused as LvmError).message).toContain(`beyond the LV (${SIZE} bytes)`);
      expect(await sums(runner, dev, [[0, SIZE]])).toEqual([sha(SIZE, PATTERN)]);

      const done = await lvm.wipe(vg, lv, RANGE);
      expect(done.by).toBe(backend === 'lvm' ? 'blkdiscard' : 'helper');
      const around = expectedAround(RANGE);
      expect(await sums(runner, dev, around.regions)).toEqual(around.sums);

      await lvm.wipe(vg, lv);
      expect(await sums(runner, dev, [[0, SIZE]])).toEqual([sha(SIZE, 0)]);
    }, 600_000);
});
