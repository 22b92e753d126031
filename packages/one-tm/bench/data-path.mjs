// Benchmarks 2 and 3: the data path of `clone` on the testbed (`pnpm testbed up`, driver built).
//
// 2. Copy throughput: the copy step of a real clone (timed by the driver itself) against
//    `dd bs=4M iflag=direct oflag=direct` LV→LV on the same host, and `qemu-img convert -n -t none
//    -T none -W` as the alternative, side by side, an image of BENCH_COPY_MIB (1024) MiB of data.
// 3. Clone of a 4 GiB image holding 100 MiB of data (5 × 20 MiB, the rest zeros) that carries
//    its allocation map (made as the image driver's import makes it): a thick clone (ZERO_ON_CREATE:
//    wiped whole by write-zeroes, then only the mapped chunks copied), a thin clone (only the
//    mapped chunks copied into the new thin LV) and the thick clone without a usable map, each as
//    the data path the driver timed and as the whole action, against a full copy (`dd` of all
//    4 GiB); the clones checked equal to the image over all 4 GiB.
// Ratios from one run, medians of BENCH_ROUNDS (3) rounds. VM ids 640–644 (one-tm bench range).

import { mapFromExtents, mapTag, parseQemuImgMap, WRITTEN_TAG } from '@one-gfs2clvm/driver-runtime';
import { datastoreXml, vmXml } from '@one-gfs2clvm/one-harness';
import { benchEnv, DL, IMG_DS, MiB, median, SYS_DS, sh, stepSeconds, VG } from './bench-env.mjs';
import { ddCopyArgv, ddRandomAtArgv } from './dd.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const copyMiB = Number(process.env.BENCH_COPY_MIB ?? 1024);
const only = process.env.BENCH_ONLY; // '2' or '3'
const THIN_DS = 161; // thin system datastore of the same VG (ids as in test/data-path.testbed.test.ts)
const env = await benchEnv();
const n1 = env.root('node1');
await env.oned.setDatastore(
  THIN_DS,
  datastoreXml({ id: THIN_DS, type: 1, template: { SHARED: 'YES', VG_NAME: VG, THIN_PROVISIONING: 'YES' } }),
);
await sh(n1, [
  'sh',
  '-c',
  'mkdir -p -- "$1" && chown oneadmin:oneadmin -- "$1"',
  'd',
  `/var/lib/one/datastores/${THIN_DS}`,
]);
const dev = (lv) => `/dev/${VG}/${lv}`;
const lenient = { reject: false, timeoutMs: 600_000 };

async function lvcreate(lv, mib) {
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', `${mib}m`, '-n', lv, VG]);
}
async function removeLvs(...lvs) {
  for (const lv of lvs) await n1.run(['lvchange', '-an', `${VG}/${lv}`], lenient);
  await n1.run(['lvremove', '-y', ...lvs.map((lv) => `${VG}/${lv}`)], lenient);
}
async function timedRun(argv) {
  const r = await n1.run(argv, { timeoutMs: 3600_000 });
  return r.durationMs / 1000;
}
/** The driver's clone of `image` into disk 0 of `vm` on node1: wall seconds and the log. */
async function driverClone(vm, image, sizeMiB, ds = SYS_DS) {
  await env.oned.setVm(
    vm,
    vmXml({
      id: vm,
      host: 'node1',
      systemDs: ds,
      imageDs: IMG_DS,
      disks: [{ id: 0, sizeMiB, source: `${VG}/${image}` }],
    }),
  );
  const started = performance.now();
  const r = await env.tm.transferLines(vm, [
    `CLONE gfs2clvm fe:${VG}/${image} node1:${DL}/${ds}/${vm}/disk.0 ${vm} ${IMG_DS}`,
  ]);
  const seconds = (performance.now() - started) / 1000;
  if (r.reply !== `TRANSFER SUCCESS ${vm} -`)
    throw new Error(`clone failed: ${r.reply}\n${r.lines.join('\n')}`);
  return { seconds, lines: r.lines };
}
/** The whole clone reads back equal to the image (sha256 of all of it, read on node1). */
async function checkClone(lv, image) {
  const sum = (name) =>
    sh(n1, ['sh', '-c', 'dd if="$1" bs=4M iflag=direct status=none | sha256sum', 'sum', dev(name)]);
  const [a, b] = [await sum(image), await sum(lv)];
  if (a !== b) throw new Error(`${lv} differs from ${image}`);
}
async function dropThinClone(vm) {
  const r = await env.tm.transferLines(vm, [
    `DELETE gfs2clvm node1:${DL}/${THIN_DS}/${vm}/disk.0 ${vm} ${THIN_DS}`,
    `DELETE gfs2clvm node1:${DL}/${THIN_DS}/${vm} ${vm} ${THIN_DS}`,
  ]);
  if (r.reply !== `TRANSFER SUCCESS ${vm} -`) throw new Error(`thin delete failed: ${r.lines.join('\n')}`);
}
async function dropClone(vm) {
  await removeLvs(`lv-one-${vm}-0`);
  await n1.run(['rm', '-rf', `/var/lib/one/datastores/${SYS_DS}/${vm}`], lenient);
}

const out = [];
try {
  if (only !== '3') {
    const img = 'lv-oneimg-640';
    const tgt = 'lv-one-641-9';
    await removeLvs(img, tgt, 'lv-one-641-0');
    await lvcreate(img, copyMiB);
    await lvcreate(tgt, copyMiB);
    // Data everywhere (no zero block), so skipping zeros cannot help: this is raw throughput.
    await sh(n1, [
      'sh',
      '-c',
      'yes one-gfs2clvm-bench | dd of="$1" bs=4M iflag=fullblock oflag=direct count="$2" status=none',
      'fill',
      dev(img),
      String(copyMiB / 4),
    ]);
    const dd = [];
    const qemu = [];
    const copy = [];
    const wipe = [];
    for (let i = 0; i < rounds; i++) {
      dd.push(await timedRun(ddCopyArgv(dev(img), dev(tgt))));
      qemu.push(
        await timedRun([
          'qemu-img',
          'convert',
          '-n',
          '-f',
          'raw',
          '-O',
          'raw',
          '-t',
          'none',
          '-T',
          'none',
          '-W',
          dev(img),
          dev(tgt),
        ]),
      );
      const { lines } = await driverClone(641, img, copyMiB);
      copy.push(stepSeconds(lines, /copy vg-one-100\/lv-oneimg-640/));
      wipe.push(stepSeconds(lines, /wipe vg-one-100\/lv-one-641-0/));
      await dropClone(641);
    }
    const rate = (s) => (copyMiB / s).toFixed(0);
    out.push(
      `| 2. LV→LV copy of ${copyMiB} MiB of data on node1, median of ${rounds} | seconds | MiB/s | throughput ÷ dd |`,
      '| --- | --- | --- | --- |',
      `| dd bs=4M iflag=direct oflag=direct (baseline) | ${median(dd).toFixed(1)} | ${rate(median(dd))} | 1.00 |`,
      `| qemu-img convert -n -t none -T none -W | ${median(qemu).toFixed(1)} | ${rate(median(qemu))} | ${(median(dd) / median(qemu)).toFixed(2)} |`,
      `| driver clone: copy step (dd, zero blocks skipped after the wipe) | ${median(copy).toFixed(1)} | ${rate(median(copy))} | ${(median(dd) / median(copy)).toFixed(2)} |`,
      `| driver clone: wipe + copy steps | ${(median(copy) + median(wipe)).toFixed(1)} | ${rate(median(copy) + median(wipe))} | ${(median(dd) / (median(copy) + median(wipe))).toFixed(2)} |`,
      '',
    );
    console.log(out.splice(0).join('\n'));
    await removeLvs(img, tgt);
  }
  if (only !== '2') {
    // The image made the way the image driver imports a file: a sparse 4 GiB file on GFS2 with
    // 5 × 20 MiB of random data, `qemu-img convert -n` into the LV, the allocation map from
    // `qemu-img map` of the file as the LV's tag (the import's own functions).
    const img = 'lv-oneimg-642';
    const tgt = 'lv-one-643-9';
    const file = `/var/lib/one/datastores/.bench-map-${process.pid}.raw`;
    await removeLvs(img, tgt, 'lv-one-643-0', 'lv-one-644-0', 'lv-one-644-pool');
    await sh(n1, ['truncate', '-s', '4G', file]);
    for (const at of [0, 1000, 2000, 3000, 4000]) await sh(n1, ddRandomAtArgv(file, at));
    const extents = parseQemuImgMap(await sh(n1, ['qemu-img', 'map', '--output=json', '-f', 'raw', file]));
    const tag = mapTag(mapFromExtents(4096 * MiB, extents));
    await lvcreate(img, 4096);
    await sh(n1, ['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'raw', '-n', '-t', 'none', file, dev(img)]);
    await sh(n1, ['rm', '-f', file]);
    // Left active on node1 (for the full copy); the clones find it so and leave it so.
    await sh(n1, ['lvchange', '--addtag', tag, `${VG}/${img}`]);
    const full = [];
    const thick = [];
    const thickSteps = [];
    const thin = [];
    const thinSteps = [];
    const noMap = [];
    const noMapSteps = [];
    const wipeAndCopy = (lines, vm) =>
      stepSeconds(lines, new RegExp(`wipe vg-one-100/lv-one-${vm}-0`)) +
      stepSeconds(lines, /copy vg-one-100\/lv-oneimg-642/);
    for (let i = 0; i < rounds; i++) {
      await lvcreate(tgt, 4096);
      full.push(await timedRun(ddCopyArgv(dev(img), dev(tgt))));
      await removeLvs(tgt);
      // Thick, ZERO_ON_CREATE: wiped whole by write-zeroes, then only the mapped chunks copied.
      const a = await driverClone(643, img, 4096);
      if (!a.lines.some((l) => /allocation map: 120 of 4096 MiB to copy/.test(l)))
        throw new Error(`the thick clone did not use the map:\n${a.lines.join('\n')}`);
      thick.push(a.seconds);
      thickSteps.push(wipeAndCopy(a.lines, 643));
      if (i === rounds - 1) await checkClone('lv-one-643-0', img);
      await dropClone(643);
      // Thin (a pool per VM): a new thin LV reads as zeros; only the mapped chunks copied.
      const b = await driverClone(644, img, 4096, THIN_DS);
      thin.push(b.seconds);
      thinSteps.push(stepSeconds(b.lines, /copy vg-one-100\/lv-oneimg-642/));
      if (i === rounds - 1) await checkClone('lv-one-644-0', img);
      await dropThinClone(644);
      // The same thick clone without a usable map (marked written): the whole image read.
      await sh(n1, ['lvchange', '--addtag', WRITTEN_TAG, `${VG}/${img}`]);
      const c = await driverClone(643, img, 4096);
      await sh(n1, ['lvchange', '--deltag', WRITTEN_TAG, `${VG}/${img}`]);
      noMap.push(c.seconds);
      noMapSteps.push(wipeAndCopy(c.lines, 643));
      await dropClone(643);
    }
    const row = (what, xs) =>
      `| ${what} | ${median(xs).toFixed(1)} | ${(median(full) / median(xs)).toFixed(2)} |`;
    out.push(
      `| 3. clone of a 4 GiB image holding 100 MiB of data (allocation map: 120 MiB of 8-MiB chunks), node1, median of ${rounds} | seconds | full copy ÷ this |`,
      '| --- | --- | --- |',
      `| full copy: dd of all 4 GiB (baseline) | ${median(full).toFixed(1)} | 1.00 |`,
      row('thick clone, data path: wipe by write-zeroes + copy of the mapped chunks', thickSteps),
      row('thin clone, data path: copy of the mapped chunks into the new thin LV', thinSteps),
      row('thick clone without a usable map, data path: wipe + whole image read, zeros skipped', noMapSteps),
      row('thick clone action, whole (LVM commands, GFS2, link, data path)', thick),
      row('thin clone action, whole (pool and thin LV created)', thin),
      row('thick clone action without a usable map, whole', noMap),
      '',
      "the last round's clones read back equal to the image over all 4 GiB (sha256): yes",
    );
    console.log(out.splice(0).join('\n'));
    await removeLvs(img);
  }
} finally {
  await removeLvs(
    'lv-oneimg-640',
    'lv-one-641-9',
    'lv-one-641-0',
    'lv-oneimg-642',
    'lv-one-643-9',
    'lv-one-643-0',
    'lv-one-644-0',
    'lv-one-644-pool',
  );
  await n1.run(
    [
      'rm',
      '-rf',
      `/var/lib/one/datastores/${SYS_DS}/641`,
      `/var/lib/one/datastores/${SYS_DS}/643`,
      `/var/lib/one/datastores/${THIN_DS}/644`,
    ],
    lenient,
  );
  await env.cluster.close();
}
console.log(out.join('\n'));
