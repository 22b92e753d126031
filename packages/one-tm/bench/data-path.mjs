// Benchmarks 2 and 3: the data path of `clone` on the testbed (`pnpm testbed up`, driver built).
//
// 2. Copy throughput: the copy step of a real clone (timed by the driver itself) against
//    `dd bs=4M iflag=direct oflag=direct` LV→LV on the same host, and `qemu-img convert -n -t none
//    -T none -W` as the alternative, side by side, an image of BENCH_COPY_MIB (1024) MiB of data.
// 3. Clone of a 4 GiB image holding 100 MiB of data (5 × 20 MiB, the rest zeros): the whole clone
//    action (ZERO_ON_CREATE: the new LV wiped whole by write-zeroes, then zero blocks skipped)
//    against a full copy (`dd` of all 4 GiB, what clone did before), and the clone checked equal
//    to the image.
// Ratios from one run, medians of BENCH_ROUNDS (3) rounds. VM ids 640–643 (one-tm bench range).

import { vmXml } from '@one-gfs2clvm/one-harness';
import { benchEnv, DL, IMG_DS, MiB, median, SYS_DS, sh, stepSeconds, VG } from './bench-env.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const copyMiB = Number(process.env.BENCH_COPY_MIB ?? 1024);
const only = process.env.BENCH_ONLY; // '2' or '3'
const env = await benchEnv();
const n1 = env.root('node1');
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
async function driverClone(vm, image, sizeMiB) {
  await env.oned.setVm(
    vm,
    vmXml({
      id: vm,
      host: 'node1',
      systemDs: SYS_DS,
      imageDs: IMG_DS,
      disks: [{ id: 0, sizeMiB, source: `${VG}/${image}` }],
    }),
  );
  const started = performance.now();
  const r = await env.tm.transferLines(vm, [
    `CLONE gfs2clvm fe:${VG}/${image} node1:${DL}/${SYS_DS}/${vm}/disk.0 ${vm} ${IMG_DS}`,
  ]);
  const seconds = (performance.now() - started) / 1000;
  if (r.reply !== `TRANSFER SUCCESS ${vm} -`)
    throw new Error(`clone failed: ${r.reply}\n${r.lines.join('\n')}`);
  return { seconds, lines: r.lines };
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
      dd.push(
        await timedRun([
          'dd',
          `if=${dev(img)}`,
          `of=${dev(tgt)}`,
          'bs=4M',
          'iflag=direct',
          'oflag=direct',
          'conv=notrunc,fsync',
          'status=none',
        ]),
      );
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
    const img = 'lv-oneimg-642';
    const tgt = 'lv-one-643-9';
    await removeLvs(img, tgt, 'lv-one-643-0');
    await lvcreate(img, 4096);
    await sh(n1, ['blkdiscard', '--zeroout', '--step', String(32 * MiB), dev(img)]);
    for (const at of [0, 1000, 2000, 3000, 4000])
      await sh(n1, [
        'dd',
        'if=/dev/urandom',
        `of=${dev(img)}`,
        'bs=1M',
        'count=20',
        `seek=${at}`,
        'oflag=direct',
        'status=none',
      ]);
    const full = [];
    const clone = [];
    const steps = [];
    for (let i = 0; i < rounds; i++) {
      await lvcreate(tgt, 4096);
      full.push(
        await timedRun([
          'dd',
          `if=${dev(img)}`,
          `of=${dev(tgt)}`,
          'bs=4M',
          'iflag=direct',
          'oflag=direct',
          'conv=notrunc,fsync',
          'status=none',
        ]),
      );
      await removeLvs(tgt);
      const { seconds, lines } = await driverClone(643, img, 4096);
      clone.push(seconds);
      steps.push(
        stepSeconds(lines, /wipe vg-one-100\/lv-one-643-0/) +
          stepSeconds(lines, /copy vg-one-100\/lv-oneimg-642/),
      );
      if (i === rounds - 1) {
        // The 5 data regions read back equal (a cmp of all 4 GiB takes minutes on a busy TCG guest;
        // that zero regions stay zero is what test/data-path.testbed.test.ts proves).
        for (const at of [0, 1000, 2000, 3000, 4000]) {
          const region = (lv) =>
            sh(n1, [
              'sh',
              '-c',
              'dd if="$1" bs=1M skip="$2" count=20 iflag=direct status=none | sha256sum',
              'sum',
              dev(lv),
              String(at),
            ]);
          if ((await region(img)) !== (await region('lv-one-643-0')))
            throw new Error(`clone differs from the image at ${at} MiB`);
        }
      }
      await dropClone(643);
    }
    out.push(
      `| 3. clone of a 4 GiB image holding 100 MiB of data, node1, median of ${rounds} | seconds | full copy ÷ this |`,
      '| --- | --- | --- |',
      `| full copy: dd of all 4 GiB (the data path before; baseline) | ${median(full).toFixed(1)} | 1.00 |`,
      `| driver clone action, whole (wipe by write-zeroes + copy skipping zeros + LVM + link) | ${median(clone).toFixed(1)} | ${(median(full) / median(clone)).toFixed(2)} |`,
      `| driver clone: wipe + copy steps only | ${median(steps).toFixed(1)} | ${(median(full) / median(steps)).toFixed(2)} |`,
      '',
      'the 5 data regions of the clone read back equal to the image (sha256): yes',
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
  );
  await n1.run(
    ['rm', '-rf', `/var/lib/one/datastores/${SYS_DS}/641`, `/var/lib/one/datastores/${SYS_DS}/643`],
    lenient,
  );
  await env.cluster.close();
}
console.log(out.join('\n'));
