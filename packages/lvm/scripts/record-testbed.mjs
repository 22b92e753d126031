// The testbed half of record-fixtures.mjs: what needs device-mapper and the lock manager.
// Runs on the running testbed (`attach()`), on the shared VG, with LV names unique to this run,
// and removes what it created.
import { attach } from '@one-gfs2clvm/testbed';
import { Lvm, LvmError } from '../dist/index.js';

const MiB = 2 ** 20;

export async function recordTestbed(recording) {
  const cluster = await attach();
  const vg = cluster.sharedVg;
  const raw1 = cluster.host('node1').runner('root');
  const raw2 = cluster.host('node2').runner('root');
  const source = 'testbed LVM 2.03.16, lvmlockd + sanlock';
  const r1 = recording(raw1, source);
  const r2 = recording(raw2, source);
  const n1 = new Lvm({ runner: r1, retry: false });
  const n2 = new Lvm({ runner: r2, retry: false });
  const run = `r${Date.now().toString(36).slice(-4)}`;
  const names = {
    active: `lv-${run}-active`,
    inactive: `lv-${run}-idle`,
    pool: `lv-${run}-pool`,
    thin: `lv-${run}-thin`,
    snap: `lv-${run}-snap`,
  };
  const fail = async (promise) => {
    try {
      await promise;
    } catch (error) {
      if (LvmError.isInstance(error)) return error;
      throw error;
    }
    throw new Error('expected a failure');
  };
  try {
    await n1.createLv({ vg, lv: names.active, sizeBytes: 8 * MiB, tags: ['one_active_node1'] });
    await n1.createLv({ vg, lv: names.inactive, sizeBytes: 16 * MiB, activate: false });
    await n1.createThinPool({ vg, lv: names.pool, sizeBytes: 32 * MiB });
    await n1.createThinLv({ vg, pool: names.pool, lv: names.thin, sizeBytes: 128 * MiB });
    await n1.createSnapshot({ vg, origin: names.active, lv: names.snap, sizeBytes: 4 * MiB });
    r1.save(
      'lvcreate-snapshot-testbed',
      'lvcreate --snapshot on the shared VG (no --reportformat)',
      'lvcreate',
    );
    await n1.listLvs(vg);
    r1.save(
      'lvs-testbed',
      'lvs of the shared VG: active/exclusive, inactive, thin pool, thin volume, snapshot, tags',
    );
    await n2.listLvs(vg);
    r2.save('lvs-testbed-other-host', 'the same lvs on node2, where nothing is active');
    await n1.listVgs(vg);
    r1.save('vgs-testbed-shared', 'vgs of the lvmlockd (sanlock) VG');

    await fail(n2.activateLv(vg, names.active, 'exclusive'));
    r2.save('lvchange-locked-by-other-host', 'lvchange -aey on node2 while node1 holds the LV exclusively');
    await fail(n1.activateLv(vg, names.thin, 'shared'));
    r1.save('lvchange-shared-thin', 'lvchange -asy of a thin volume');

    await n1.activateLv(vg, names.inactive, 'exclusive');
    const holder = raw1.run(['sh', '-c', 'exec 3<"$1"; sleep 30', 'sh', `/dev/${vg}/${names.inactive}`], {
      reject: false,
      timeoutMs: 60_000,
    });
    for (let i = 0; i < 40 && !(await n1.getLv(vg, names.inactive)).open; i++)
      await new Promise((r) => setTimeout(r, 500));
    await fail(n1.removeLv(vg, names.inactive));
    r1.save('lvremove-in-use', 'lvremove of an LV held open on node1');
    await fail(n1.deactivateLv(vg, names.inactive));
    r1.save('lvchange-deactivate-in-use', 'lvchange -an of an LV held open on node1');
    await holder;

    // Lockspace stopped: on a shared VG of its own on a loop device of node1 (the testbed VG keeps
    // its lockspace while GFS2 is mounted, and other suites use it).
    const image = `/tmp/${run}-ls.img`;
    const own = `vg-${run}-ls`;
    await raw1.run(['truncate', '-s', '1G', image]);
    const loop = (await raw1.run(['losetup', '--find', '--show', image])).stdout.trim();
    try {
      await raw1.run(['vgcreate', '--shared', '--lock-type', 'sanlock', own, loop]);
      await n1.lockStart(own);
      r1.save('vgchange-lockstart', 'vgchange --lockstart of a new sanlock VG', 'vgchange');
      for (let i = 0; i < 48 && !(await n1.lockStatus(own)).started; i++)
        await new Promise((r) => setTimeout(r, 5000));
      await n1.createLv({ vg: own, lv: 'lv-one-1-0', sizeBytes: 8 * MiB, activate: false });
      await raw1.run(['vgchange', '--lockstop', own]);
      await n1.lockStatus(own);
      r1.save('vgs-lockspace-stopped', 'vgs after vgchange --lockstop: the warning lockStatus looks for');
      await fail(n1.activateLv(own, 'lv-one-1-0', 'exclusive'));
      r1.save('lvchange-lockspace-stopped', 'lvchange -aey after vgchange --lockstop');
      await fail(n1.createLv({ vg: own, lv: 'lv-one-2-0', sizeBytes: MiB }));
      r1.save('lvcreate-lockspace-stopped', 'lvcreate after vgchange --lockstop');
    } finally {
      await raw1.run(['vgchange', '--lockstart', own], { reject: false, timeoutMs: 300_000 });
      await raw1.run(['vgremove', '--yes', '--force', own], { reject: false, timeoutMs: 120_000 });
      await raw1.run(['losetup', '--detach', loop], { reject: false });
      await raw1.run(['rm', '-f', image], { reject: false });
    }
  } finally {
    for (const lv of [names.snap, names.thin, names.pool, names.inactive, names.active]) {
      await n1.ensureInactive(vg, lv).catch(() => {});
      await n1.removeLvIfExists(vg, lv).catch((e) => console.warn(`cleanup ${lv}: ${e.message}`));
    }
    await raw1.close();
    await raw2.close();
  }
}
