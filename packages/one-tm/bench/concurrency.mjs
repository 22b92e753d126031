// Benchmark 4: 15 clones of ONE image at once over 2 hosts through tools/one-harness's TmDriver
// with concurrency 15 (oned's default `-t 15`), then the 15 epilogs (delete) at once. The shape of
// test/clone-race.testbed.test.ts (issue 13): disks of different sizes (64–192 MiB, wiped first:
// ZERO_ON_CREATE), the image copied by its allocation map (16 MiB of data), so the copies overlap
// and leave gaps. Every clone must succeed with the image's data, and afterwards nothing may be
// left: no LV of the VMs, no VM directory, the image inactive on both hosts (checked). Reports the
// wall time and the median and maximum time of one clone action. VM ids 650–664, image 650
// (one-tm bench range).

import { mapFromExtents, mapTag } from '@one-gfs2clvm/driver-runtime';
import { vmXml } from '@one-gfs2clvm/one-harness';
import { benchEnv, DL, IMG_DS, MiB, median, SYS_DS, sh, VG } from './bench-env.mjs';

const COUNT = Number(process.env.BENCH_CLONES ?? 15);
const IMG_MIB = Number(process.env.BENCH_IMAGE_MIB ?? 64);
const img = 'lv-oneimg-650';
const vms = Array.from({ length: COUNT }, (_, i) => 650 + i);
const hostOf = (vm) => (vm % 2 === 0 ? 'node1' : 'node2');
const sizeOf = (vm) => IMG_MIB + 32 * ((vm * 3) % 5); // 64 … 192 MiB with the default image
const DATA_MIB = 16;
const env = await benchEnv({ concurrency: 15 });
const n1 = env.root('node1');
const lenient = { reject: false, timeoutMs: 600_000 };

async function leftovers() {
  const lvs = await sh(n1, ['lvs', '--noheadings', '-o', 'lv_name', VG]);
  const mine = lvs.split(/\s+/).filter((n) => vms.some((vm) => n.startsWith(`lv-one-${vm}-`)));
  const dirs = await sh(n1, [
    'sh',
    '-c',
    'cd /var/lib/one/datastores/100 && ls -d 65? 66? 2>/dev/null || true',
  ]);
  const active = [];
  for (const h of ['node1', 'node2']) {
    const a = await sh(env.root(h), ['lvs', '--noheadings', '-o', 'lv_active_locally', `${VG}/${img}`]);
    if (a.includes('active')) active.push(h);
  }
  return { lvs: mine, dirs: dirs.split(/\s+/).filter(Boolean), imageActiveOn: active };
}

let summary = [];
try {
  await n1.run(['lvremove', '-y', `${VG}/${img}`], lenient);
  await sh(n1, ['lvcreate', '-y', '--setautoactivation', 'n', '-L', `${IMG_MIB}m`, '-n', img, VG]);
  await sh(n1, ['blkdiscard', '--zeroout', `/dev/${VG}/${img}`]);
  await sh(n1, [
    'dd',
    'if=/dev/urandom',
    `of=/dev/${VG}/${img}`,
    'bs=1M',
    `count=${DATA_MIB}`,
    'oflag=direct',
    'status=none',
  ]);
  const imageSum = (await sh(n1, ['sha256sum', `/dev/${VG}/${img}`])).split(' ')[0];
  // Its allocation map (as the image driver's import records it): data in the first 16 MiB only.
  const zeros = [{ start: DATA_MIB * MiB, length: (IMG_MIB - DATA_MIB) * MiB, zero: true }];
  const tag = mapTag(mapFromExtents(IMG_MIB * MiB, zeros));
  await sh(n1, ['lvchange', '-an', '--addtag', tag, `${VG}/${img}`]);
  for (const vm of vms)
    await env.oned.setVm(
      vm,
      vmXml({
        id: vm,
        host: hostOf(vm),
        systemDs: SYS_DS,
        imageDs: IMG_DS,
        disks: [{ id: 0, sizeMiB: sizeOf(vm), source: `${VG}/${img}` }],
      }),
    );

  const started = performance.now();
  const results = await Promise.all(
    vms.map((vm) =>
      env.tm.transferLines(vm, [
        `CLONE gfs2clvm fe:${VG}/${img} ${hostOf(vm)}:${DL}/${SYS_DS}/${vm}/disk.0 ${vm} ${IMG_DS}`,
      ]),
    ),
  );
  const wall = (performance.now() - started) / 1000;
  const failed = results.filter((r, i) => r.reply !== `TRANSFER SUCCESS ${vms[i]} -`);
  for (const r of failed) console.error(r.reply);
  const each = results.map((r) => (r.commands[0]?.durationMs ?? Number.NaN) / 1000);
  let wrongData = 0;
  for (const [i, vm] of vms.entries()) {
    if (results[i].reply !== `TRANSFER SUCCESS ${vm} -`) continue; // counted as failed above
    const sum = (
      await sh(env.root(hostOf(vm)), [
        'sh',
        '-c',
        'head -c "$1" "$2" | sha256sum',
        'sum',
        String(IMG_MIB * MiB),
        `/dev/${VG}/lv-one-${vm}-0`,
      ])
    ).split(' ')[0];
    if (sum !== imageSum) wrongData++;
  }

  const startedDelete = performance.now();
  const deletes = await Promise.all(
    vms.map((vm) =>
      env.tm.transferLines(
        vm,
        [
          `DELETE gfs2clvm ${hostOf(vm)}:${DL}/${SYS_DS}/${vm}/disk.0 ${vm} ${SYS_DS}`,
          `DELETE gfs2clvm ${hostOf(vm)}:${DL}/${SYS_DS}/${vm} ${vm} ${SYS_DS}`,
        ],
        'epilog',
      ),
    ),
  );
  const wallDelete = (performance.now() - startedDelete) / 1000;
  const failedDelete = deletes.filter((r, i) => r.reply !== `TRANSFER SUCCESS ${vms[i]} -`);
  for (const r of failedDelete) console.error(r.reply);
  const left = await leftovers();
  summary = [
    `| 4. ${COUNT} clones of one ${IMG_MIB} MiB image (${DATA_MIB} MiB mapped) at once onto ${IMG_MIB}–${IMG_MIB + 128} MiB disks, node1 + node2, TmDriver concurrency 15 | |`,
    '| --- | --- |',
    `| clones succeeded | ${COUNT - failed.length} of ${COUNT} |`,
    `| succeeded clones holding the image's data (sha256) | ${COUNT - failed.length - wrongData} of ${COUNT - failed.length} |`,
    `| wall time, all ${COUNT} clones | ${wall.toFixed(1)} s |`,
    `| one clone action: median / max | ${median(each).toFixed(1)} s / ${Math.max(...each).toFixed(1)} s |`,
    `| wall time, all ${COUNT} epilogs (delete disk + VM dir) | ${wallDelete.toFixed(1)} s (${COUNT - failedDelete.length} of ${COUNT} succeeded) |`,
    `| left behind (LVs of the VMs, VM dirs, image active on) | ${left.lvs.length} LVs, ${left.dirs.length} dirs, image active on ${left.imageActiveOn.length ? left.imageActiveOn.join(', ') : 'no host'} |`,
  ];
  if (left.lvs.length || left.dirs.length || left.imageActiveOn.length)
    console.error('LEFT BEHIND:', JSON.stringify(left));
} finally {
  for (const vm of vms) {
    for (const h of ['node1', 'node2'])
      await env.root(h).run(['lvchange', '-an', `${VG}/lv-one-${vm}-0`], lenient);
    await n1.run(['lvremove', '-y', `${VG}/lv-one-${vm}-0`], lenient);
  }
  for (const h of ['node1', 'node2']) await env.root(h).run(['lvchange', '-an', `${VG}/${img}`], lenient);
  await n1.run(['lvremove', '-y', `${VG}/${img}`], lenient);
  await n1.run(['sh', '-c', 'cd /var/lib/one/datastores/100 && rm -rf -- 65? 66?'], lenient);
  await env.cluster.close();
}
console.log(summary.join('\n'));
