// Benchmark 3 on native block devices (loop devices on this machine, NOT the testbed): clone of
// a 4 GiB image holding 100 MiB of data against a full copy, with the driver's own argv.
//
// The testbed figure (bench/data-path.mjs) is bounded by process starts in TCG guests (0.2–0.5 s
// each) while the LUN's I/O runs at host speed; here a process costs a millisecond, as on real
// hosts. Run as root (loop devices): `pnpm --filter @one-gfs2clvm/one-tm bench:native`.
//
// - source: a sparse 4 GiB file, 5 × 20 MiB of random data at spread offsets, the rest holes; its
//   allocation map made as the image driver's import makes it (`qemu-img map` of the source,
//   parseQemuImgMap → mapFromExtents → mapTag), read back as the clone does (mapFromTags).
// - image: a FULLY ALLOCATED 4 GiB file with the source's content (every zero written), on a
//   loop device: the image LV the import filled with `qemu-img convert -n`.
// - full copy (baseline): `dd bs=4M iflag=direct oflag=direct conv=notrunc,fsync` of all 4 GiB
//   onto a fully allocated target (= copyArgv without zeroTarget; checked).
// - thin: a new sparse 4 GiB file (reads as zeros, like a new thin LV): the range copy only.
// - thick, freshly wiped: a fully allocated target filled with a stale 0xA5 pattern, wiped by
//   `blkdiscard --zeroout --step 32M` over the whole device (the helper's `wipe`), then the
//   range copy.
// - thick without a usable map: the same wipe, then the whole image by copyArgv's `conv=sparse` dd.
// The range copy is rangeCopyArgv's argv (RANGE_COPY_SCRIPT and the mapped ranges) with its two
// device paths replaced by the loop devices. After every timed copy the target's sha256 over all
// 4 GiB must equal the image's; the thick targets must also read zeros where the stale pattern was
// (checked before the wipe to hold 0xA5, so the check can fail).
// Loop devices use --direct-io=on (no host page cache under them, like a LUN). One run, side by
// side per round, medians of BENCH_ROUNDS (3). Everything under a temp dir in /var/tmp, removed
// with every loop device detached at the end, also on failure or Ctrl-C.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  copyArgv,
  mapFromExtents,
  mapFromTags,
  mappedBytes,
  mappedRanges,
  mapTag,
  parseQemuImgMap,
  RANGE_COPY_SCRIPT,
  rangeCopyArgv,
} from '@one-gfs2clvm/driver-runtime';
import { blkdiscardWipeArgv } from '@one-gfs2clvm/lvm';
import { ddCopyArgv, ddRandomAtArgv } from './dd.mjs';

const MiB = 2 ** 20;
const SIZE = 4096 * MiB;
const DATA_AT_MIB = [0, 1000, 2000, 3000, 4000]; // 20 MiB of random data at each (as data-path.mjs)
const BLOCK = '4M'; // the driver's default COPY_BLOCK_SIZE
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (process.getuid?.() !== 0) {
  console.error('bench:native: must run as root (loop devices)');
  process.exit(2);
}

const dir = mkdtempSync('/var/tmp/one-tm-native-');
const loops = new Set();
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const dev of loops) {
    try {
      execFileSync('losetup', ['-d', dev], { stdio: 'ignore' });
    } catch {
      console.error(`could not detach ${dev}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });

/** Runs argv; resolves with wall seconds and stdout, rejects on a non-zero exit. */
function run(argv) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, stdout: Buffer.concat(out).toString() });
      else reject(new Error(`${argv.slice(0, 3).join(' ')} … exited ${code}: ${Buffer.concat(err)}`));
    });
  });
}
const sh = async (script, ...args) => (await run(['sh', '-c', script, 'sh', ...args])).stdout.trim();

async function attach(file) {
  const dev = (await run(['losetup', '-f', '--show', '--direct-io=on', file])).stdout.trim();
  loops.add(dev);
  return dev;
}
async function detach(dev) {
  await run(['losetup', '-d', dev]);
  loops.delete(dev);
}
/** A file of SIZE bytes with every block written: zeros, or the stale pattern 0xA5. */
async function allocated(name, pattern) {
  const file = join(dir, name);
  await fill(file, pattern);
  return file;
}
async function fill(target, pattern) {
  const source = pattern === 'stale' ? "tr '\\0' '\\245' </dev/zero" : 'cat /dev/zero';
  await sh(
    `${source} | dd of="$1" bs=4M count=${SIZE / (4 * MiB)} iflag=fullblock oflag=direct conv=notrunc,fsync status=none`,
    target,
  );
}
const sha = (dev) => sh('dd if="$1" bs=4M iflag=direct status=none | sha256sum', dev);
/** Sectors read and written by a block device so far (/sys/block/<dev>/stat). */
function ioStat(dev) {
  const f = readFileSync(`/sys/block/${dev.replace('/dev/', '')}/stat`, 'utf8')
    .trim()
    .split(/\s+/);
  return { read: Number(f[2]) * 512, written: Number(f[6]) * 512 };
}
/** The 4 MiB at `offsetMiB` of `dev` read with direct I/O: 'zero', 'stale' (all 0xA5) or 'other'. */
async function chunkIs(dev, offsetMiB) {
  const hex = await sh(
    'dd if="$1" bs=1M skip="$2" count=4 iflag=direct status=none | od -An -tx1 -v | tr -s " \\n" "\\n\\n" | sort -u | tr "\\n" " "',
    dev,
    String(offsetMiB),
  );
  const bytes = hex.trim().split(/\s+/);
  if (bytes.length === 1 && bytes[0] === '00') return 'zero';
  if (bytes.length === 1 && bytes[0] === 'a5') return 'stale';
  return 'other';
}
/** argv with its placeholder device paths (each must occur exactly once) replaced. */
function onDevices(argv, swaps) {
  let out = argv;
  for (const [from, to] of swaps) {
    const hits = out.filter((a) => a === from || a.endsWith(`=${from}`)).length;
    if (hits !== 1) throw new Error(`${from} occurs ${hits} times in the driver's argv`);
    out = out.map((a) => (a === from ? to : a.endsWith(`=${from}`) ? a.slice(0, -from.length) + to : a));
  }
  return out;
}

const IMG = { vg: 'bench', lv: 'image' };
const TGT = { vg: 'bench', lv: 'target' };
const IMG_DEV = '/dev/bench/image';
const TGT_DEV = '/dev/bench/target';

const load = execFileSync('uptime').toString().trim();
const results = { full: [], thin: [], thick: [], thickCopy: [], thickWipe: [], noMap: [] };
const moved = {};
try {
  console.log(`machine load at start: ${load}`);
  // The source and its map, as the image driver's import makes them.
  const source = join(dir, 'source.raw');
  await run(['truncate', '-s', String(SIZE), source]);
  for (const at of DATA_AT_MIB) await run(ddRandomAtArgv(source, at));
  const extents = parseQemuImgMap(
    (await run(['qemu-img', 'map', '--output=json', '-f', 'raw', source])).stdout,
  );
  const tag = mapTag(mapFromExtents(SIZE, extents));
  const lookup = mapFromTags([tag], SIZE);
  if (!lookup.map) throw new Error(`map round trip failed: ${lookup.why}`);
  const map = lookup.map;
  const ranges = mappedRanges(map);
  const mapMiB = mappedBytes(map) / MiB;
  if (mapMiB !== 120) throw new Error(`expected 120 MiB mapped (15 chunks of 8 MiB), got ${mapMiB}`);

  // The image: fully allocated (every zero written), the source's content.
  const imageFile = join(dir, 'image.raw');
  await run(['dd', `if=${source}`, `of=${imageFile}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none']);
  rmSync(source);
  const image = await attach(imageFile);
  const imageSha = await sha(image);

  // The driver's argv, its placeholder devices replaced by the loop devices.
  const rangeArgv = (target) =>
    onDevices(rangeCopyArgv(IMG, TGT, BLOCK, ranges), [
      [IMG_DEV, image],
      [TGT_DEV, target],
    ]);
  const wholeSparseArgv = (target) =>
    onDevices(copyArgv(IMG, TGT, BLOCK, { zeroTarget: 'wiped' }), [
      [IMG_DEV, image],
      [TGT_DEV, target],
    ]);
  const wipeArgv = (dev) => onDevices(blkdiscardWipeArgv(TGT.vg, TGT.lv), [[TGT_DEV, dev]]);
  const fullArgv = (target) => ddCopyArgv(image, target);
  {
    const probe = rangeArgv('/dev/x');
    if (probe[2] !== RANGE_COPY_SCRIPT || probe[4] !== image || probe[5] !== '/dev/x')
      throw new Error(`unexpected range copy argv: ${probe.slice(3, 6).join(' ')}`);
    const driverFull = onDevices(copyArgv(IMG, TGT, BLOCK), [
      [IMG_DEV, image],
      [TGT_DEV, '/dev/x'],
    ]);
    if (driverFull.join(' ') !== fullArgv('/dev/x').join(' '))
      throw new Error(`the baseline is not the driver's copyArgv: ${driverFull.join(' ')}`);
  }

  /** Times argv list (run in order) on `target`; then the target must equal the image. */
  async function timedCopy(key, target, steps) {
    const before = { src: ioStat(image), dst: ioStat(target) };
    const seconds = [];
    for (const argv of steps) seconds.push((await run(argv)).seconds);
    const after = { src: ioStat(image), dst: ioStat(target) };
    moved[key] = {
      read: (after.src.read - before.src.read) / MiB,
      written: (after.dst.written - before.dst.written) / MiB,
    };
    if ((await sha(target)) !== imageSha) throw new Error(`${key}: target differs from the image`);
    return seconds;
  }
  /** The stale chunks (outside the map, and the zero tail of a mapped chunk) read as 0xA5 now. */
  const STALE_PROBES = [1500, 1020]; // MiB: chunk 187 (not mapped); 1020–1024 of mapped chunk 127
  async function expectChunks(dev, want) {
    for (const at of STALE_PROBES) {
      const is = await chunkIs(dev, at);
      if (is !== want) throw new Error(`${dev} at ${at} MiB reads ${is}, expected ${want}`);
    }
  }

  const fullFile = await allocated('full.raw', 'stale');
  const thickFile = await allocated('thick.raw', 'stale');
  const full = await attach(fullFile);
  const thick = await attach(thickFile);
  for (let i = 0; i < rounds; i++) {
    // Baseline: full copy onto a fully allocated target holding the stale pattern.
    if (i > 0) await fill(full, 'stale');
    results.full.push(...(await timedCopy('full', full, [fullArgv(full)])));

    // Thin analog: a new sparse file (reads as zeros): the range copy alone.
    const thinFile = join(dir, `thin-${i}.raw`);
    await run(['truncate', '-s', String(SIZE), thinFile]);
    const thin = await attach(thinFile);
    results.thin.push(...(await timedCopy('thin', thin, [rangeArgv(thin)])));
    await detach(thin);
    rmSync(thinFile);

    // Thick, freshly wiped: stale pattern, wipe whole, range copy; no stale byte readable.
    await fill(thick, 'stale');
    await expectChunks(thick, 'stale');
    const [w, c] = await timedCopy('thick', thick, [wipeArgv(thick), rangeArgv(thick)]);
    results.thickWipe.push(w);
    results.thickCopy.push(c);
    results.thick.push(w + c);
    await expectChunks(thick, 'zero');

    // Thick without a usable map: wipe whole, then the whole image with zero blocks skipped.
    await fill(thick, 'stale');
    await expectChunks(thick, 'stale');
    const [w2, c2] = await timedCopy('noMap', thick, [wipeArgv(thick), wholeSparseArgv(thick)]);
    results.noMap.push(w2 + c2);
    await expectChunks(thick, 'zero');
    console.log(
      `round ${i + 1}: full ${results.full[i].toFixed(2)} s, thin ${results.thin[i].toFixed(2)} s, ` +
        `thick ${w.toFixed(2)} + ${c.toFixed(2)} s, thick without map ${(w2 + c2).toFixed(2)} s`,
    );
  }

  const base = median(results.full);
  const mib = (k) => `${moved[k].read.toFixed(0)} / ${moved[k].written.toFixed(0)}`;
  const row = (what, xs, k) =>
    `| ${what} | ${median(xs).toFixed(2)} | **${(base / median(xs)).toFixed(1)}×** | ${mib(k)} |`;
  console.log(
    [
      '',
      `| 3 (native). 4 GiB image holding 100 MiB (map: ${ranges.length} ranges, ${mapMiB} MiB of 8-MiB chunks), loop devices, median of ${rounds} | seconds | full copy ÷ this | MiB read / written |`,
      '| --- | --- | --- | --- |',
      `| full copy: \`dd\` of all 4 GiB onto a fully allocated target (baseline) | ${base.toFixed(2)} | 1.0× | ${mib('full')} |`,
      row('thin: range copy (`rangeCopyArgv`) onto a new sparse file', results.thin, 'thin'),
      row('thick, freshly wiped: `blkdiscard --zeroout --step 32M` + range copy', results.thick, 'thick'),
      `| … of which the wipe / the range copy | ${median(results.thickWipe).toFixed(2)} / ${median(results.thickCopy).toFixed(2)} | | |`,
      row(
        'thick without a usable map: wipe + whole image (`copyArgv`, `conv=sparse`)',
        results.noMap,
        'noMap',
      ),
      '',
      "MiB read from the image's loop device / written to the target's (/sys/block/loopN/stat, last round); written includes the wipe's write-zeroes, which a loop device turns into fallocate(ZERO_RANGE) of its file: metadata only",
      `every target after every timed copy: sha256 over all 4 GiB equal to the image's: yes (${rounds * 4} checks)`,
      'thick targets: 0xA5 at 1020 MiB (zero tail of a mapped chunk) and 1500 MiB (unmapped) before the wipe, zeros after: yes',
      `machine load at start: ${load}`,
      `machine load at end: ${execFileSync('uptime').toString().trim()}`,
      `reproduce: BENCH_ROUNDS=${rounds} pnpm --filter @one-gfs2clvm/one-tm bench:native (as root)`,
    ].join('\n'),
  );
} finally {
  cleanup();
}
