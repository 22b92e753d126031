import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lvm, LvmError, type LvmErrorCode } from '../src/index.js';
import { failure } from './failure.js';

// Real clustered LVM: two emulated hosts on one shared LUN, lvmlockd + sanlock (tools/testbed).
// The cluster comes from the testbed's vitest global setup; without it attach() fails with its own
// clear message, and so does every test here (never a silent skip).
const MiB = 2 ** 20;
const run = `t${Date.now().toString(36).slice(-5)}`;
let serial = 0;
/** A fresh LV name for this run (sanlock compares only the first 48 characters of LV names). */
const fresh = (what: string) => `lv-${run}-${what}-${serial++}`;

let cluster: Cluster;
let vg: string;
let r1: Runner;
let r2: Runner;
let n1: Lvm;
let n2: Lvm;
const created: string[] = [];

async function sh(runner: Runner, argv: string[]): Promise<string> {
  return (await runner.run(argv, { timeoutMs: 120_000 })).stdout.trim();
}

async function expectCode(promise: Promise<unknown>, code: LvmErrorCode): Promise<LvmError> {
  const error = await failure(promise);
  expect(error.code, error.message).toBe(code);
  return error;
}

/** lockStart returns before sanlock has joined (20–60 s on the testbed): wait for lockStatus. */
async function waitStarted(lvm: Lvm, vg: string): Promise<void> {
  const deadline = Date.now() + 240_000;
  while (!(await lvm.lockStatus(vg)).started) {
    if (Date.now() > deadline) throw new Error(`lockspace of ${vg} not started after 240 s`);
    await new Promise((r) => setTimeout(r, 5000));
  }
}

async function createOn(lvm: Lvm, what: string, sizeBytes = 8 * MiB, activate = true) {
  const lv = fresh(what);
  created.push(lv);
  const made = await lvm.createLv({ vg, lv, sizeBytes, activate });
  return { lv, made };
}

beforeAll(async () => {
  cluster = await attach();
  vg = cluster.sharedVg;
  r1 = cluster.host('node1').runner('root');
  r2 = cluster.host('node2').runner('root');
  n1 = new Lvm({ runner: r1, retry: false });
  n2 = new Lvm({ runner: r2, retry: false });
}, 120_000);

afterAll(async () => {
  if (!cluster) return;
  for (const lv of created.reverse()) {
    await n2?.ensureInactive(vg, lv).catch(() => {});
    await n1?.ensureInactive(vg, lv).catch(() => {});
    await n1?.removeLvIfExists(vg, lv).catch(() => {});
  }
  await cluster.close();
}, 300_000);

describe('shared VG under lvmlockd + sanlock, two hosts', () => {
  it('both hosts see an lvmlockd VG with a started lockspace', async () => {
    expect(await n1.lockModeOf(vg)).toBe('lvmlockd');
    const [s1, s2] = await Promise.all([n1.lockStatus(vg), n2.lockStatus(vg)]);
    expect(s1).toMatchObject({ lockMode: 'lvmlockd', lockType: 'sanlock', started: true });
    expect(s2).toMatchObject({ lockMode: 'lvmlockd', lockType: 'sanlock', started: true });
  });

  it('create on node1: exact size, active exclusively there, autoactivation off, seen by node2', async () => {
    const { lv, made } = await createOn(n1, 'create', 12 * MiB);
    expect(made.sizeBytes).toBe(12 * MiB);
    expect(made.active).toBe(true);
    expect(made.activeExclusively).toBe(true);
    const autoactivation = await sh(r1, [
      'lvs',
      '--noheadings',
      '--binary',
      '-o',
      'lv_autoactivation',
      `${vg}/${lv}`,
    ]);
    expect(autoactivation).toBe('0');
    const seen = await n2.getLv(vg, lv);
    expect(seen.sizeBytes).toBe(12 * MiB);
    expect(seen.active).toBe(false);
    await expectCode(n2.createLv({ vg, lv, sizeBytes: MiB }), 'ALREADY_EXISTS');
    await expectCode(n2.getLv(vg, `${lv}-missing`), 'NOT_FOUND');
  });

  it('exclusive on node1 → refused on node2; shared on both; back to exclusive (live-migration protocol)', async () => {
    const { lv } = await createOn(n1, 'mig', 8 * MiB, false);
    await n1.activateLv(vg, lv, 'exclusive');
    const refused = await expectCode(n2.activateLv(vg, lv, 'exclusive'), 'LOCKED_BY_OTHER_HOST');
    expect(refused.message).toContain('LV locked by other host');
    expect(refused.exitCode).toBe(5);
    expect(refused.isRetryable).toBe(false);
    expect(refused.host).toBe(r2.host);

    await n1.activateLv(vg, lv, 'shared'); // converted in place, still active
    await n2.activateLv(vg, lv, 'shared');
    const [a1, a2] = await Promise.all([n1.getLv(vg, lv), n2.getLv(vg, lv)]);
    // (LVM 2.03.16 reports lv_active_exclusively=1 on both here: it cannot tell lvmlockd's modes.)
    expect([a1.active, a2.active]).toEqual([true, true]);

    await expectCode(n2.activateLv(vg, lv, 'exclusive'), 'LOCKED_BY_OTHER_HOST');
    await n1.deactivateLv(vg, lv);
    await n2.activateLv(vg, lv, 'exclusive');
    expect((await n2.getLv(vg, lv)).active).toBe(true);
    // ensureActive('exclusive') converts a shared activation even though LVM reports both alike.
    await n2.activateLv(vg, lv, 'shared');
    await n1.activateLv(vg, lv, 'shared');
    await expectCode(n2.ensureActive(vg, lv, 'exclusive'), 'LOCKED_BY_OTHER_HOST');
    await n1.deactivateLv(vg, lv);
    expect((await n2.ensureActive(vg, lv, 'exclusive')).active).toBe(true);
    await expectCode(n1.activateLv(vg, lv, 'shared'), 'LOCKED_BY_OTHER_HOST');
    expect(await n2.ensureInactive(vg, lv)).toBe(true);
    expect(await n2.ensureInactive(vg, lv)).toBe(false);
  });

  it('tags with the activation: two by -aey, one by -an (a 128-character one_map.); a tag already there is no error', async () => {
    const { lv } = await createOn(n1, 'tags', 8 * MiB, false);
    const both = ['one_active_node1', 'one_written'];
    const map = `one_map.4.1048576.${'Ab_-9'.repeat(22)}`;
    expect(map).toHaveLength(128);
    // LVM 2.03.16 answers exit 0 also when the tags are there and the LV active (ln's retries):
    // "Logical volume … changed." and "WARNING: Combining activation change with other commands".
    await n1.activateLv(vg, lv, 'exclusive', { addTags: both });
    await n1.activateLv(vg, lv, 'exclusive', { addTags: both });
    const active = await n1.getLv(vg, lv);
    expect(active.active).toBe(true);
    expect(active.tags.sort()).toEqual(both);
    await n1.deactivateLv(vg, lv, { addTag: map });
    const sealed = await n1.getLv(vg, lv);
    expect(sealed.active).toBe(false);
    expect(sealed.tags.sort()).toEqual([...both, map].sort());
  });

  it('extend on node1, refresh on node2 shows the new size in node2 device table', async () => {
    const { lv } = await createOn(n1, 'ext', 8 * MiB, false);
    await n1.activateLv(vg, lv, 'shared');
    await n2.activateLv(vg, lv, 'shared');
    const device = `/dev/${vg}/${lv}`;
    expect(Number(await sh(r2, ['blockdev', '--getsize64', device]))).toBe(8 * MiB);
    const grown = await n1.extendLv(vg, lv, 9 * MiB);
    expect(grown.sizeBytes).toBeGreaterThanOrEqual(9 * MiB); // rounded up to whole extents
    await n2.refreshLv(vg, lv);
    expect(Number(await sh(r2, ['blockdev', '--getsize64', device]))).toBe(grown.sizeBytes);
    await expectCode(n1.extendLv(vg, lv, 8 * MiB), 'UNSUPPORTED');
    await n1.deactivateLv(vg, lv);
    await n2.deactivateLv(vg, lv);
  });

  it('snapshot of an exclusively active LV', async () => {
    const { lv } = await createOn(n1, 'orig', 8 * MiB);
    const snap = fresh('snap');
    created.push(snap);
    const s = await n1.createSnapshot({ vg, origin: lv, lv: snap, sizeBytes: 4 * MiB });
    expect(s.origin).toBe(lv);
    expect(s.attr.volumeType).toBe('snapshot');
    expect((await n1.getLv(vg, lv)).attr.volumeType).toBe('origin');
    await n1.removeLv(vg, snap);
  });

  it('thin pool and thin volume (one host at a time: shared activation refused)', async () => {
    const pool = fresh('pool');
    created.push(pool);
    const p = await n1.createThinPool({ vg, lv: pool, sizeBytes: 32 * MiB });
    expect(p.attr.volumeType).toBe('thin-pool');
    expect(p.metadataSizeBytes).toBe(4 * MiB); // LVM's 2 MiB minimum, rounded up to a 4 MiB extent
    // Data and metadata grown by one lvextend (--poolmetadatasize; LVM rounds up to extents).
    const grown = await n1.extendLv(vg, pool, 36 * MiB, { metadataSizeBytes: 5 * MiB });
    expect([grown.sizeBytes, grown.metadataSizeBytes]).toEqual([36 * MiB, 8 * MiB]);
    const thin = fresh('thin');
    created.push(thin);
    const t = await n1.createThinLv({ vg, pool, lv: thin, sizeBytes: 256 * MiB });
    expect(t).toMatchObject({ pool, sizeBytes: 256 * MiB });
    expect(t.attr.thin).toBe(true);
    const tsnap = fresh('tsnap');
    created.push(tsnap);
    const ts = await n1.createSnapshot({ vg, origin: thin, lv: tsnap });
    expect(ts.attr.volumeType).toBe('thin-volume');
    expect(ts.origin).toBe(thin);
    const shared = await expectCode(n1.activateLv(vg, thin, 'shared'), 'UNSUPPORTED');
    expect(shared.message).toMatch(/Shared activation not compatible with LV type thin-pool/);
    await n1.removeLv(vg, tsnap);
    await n1.removeLv(vg, thin);
    await n1.removeLv(vg, pool);
  });

  it('remove twice: the second is a no-op; a missing VG is not', async () => {
    const { lv } = await createOn(n1, 'rm');
    expect(await n1.removeLvIfExists(vg, lv)).toBe(true);
    expect(await n1.removeLvIfExists(vg, lv)).toBe(false);
    await expectCode(n1.removeLvIfExists('vg-missing-here', lv), 'NOT_FOUND');
  });

  it('insufficient space', async () => {
    const info = await n1.getVg(vg);
    const error = await expectCode(
      n1.createLv({ vg, lv: fresh('huge'), sizeBytes: info.freeBytes + info.extentSizeBytes }),
      'INSUFFICIENT_SPACE',
    );
    expect(error.message).toMatch(/insufficient free space/i);
  });

  it('an open LV is IN_USE for remove and deactivate', async () => {
    const { lv } = await createOn(n1, 'open');
    const device = `/dev/${vg}/${lv}`;
    const holder = r1.run(['sh', '-c', 'exec 3<"$1"; sleep 30', 'sh', device], { timeoutMs: 60_000 });
    // The holder's SSH channel may take a few seconds to open under emulation.
    for (let i = 0; i < 40 && !(await n1.getLv(vg, lv)).open; i++)
      await new Promise((r) => setTimeout(r, 500));
    expect((await n1.getLv(vg, lv)).open).toBe(true);
    await expectCode(n1.removeLv(vg, lv), 'IN_USE');
    await expectCode(n1.deactivateLv(vg, lv), 'IN_USE');
    await holder;
    await n1.deactivateLv(vg, lv);
  }, 90_000);

  it('lock mode none (plain VG on the shared LUN): metadata changes only inside the caller lock', async () => {
    const plain = cluster.plainVg;
    if (!plain) throw new Error('the testbed was booted without plainVg: the none mode cannot be tested');
    expect(await n1.lockModeOf(plain)).toBe('none');
    const lv = fresh('none');
    await expectCode(n1.createLv({ vg: plain, lv, sizeBytes: 8 * MiB }), 'LOCK_CALLBACK_MISSING');
    expect(await n1.findLv(plain, lv)).toBeNull();
    const locked: string[] = [];
    let tail = Promise.resolve();
    const fe = new Lvm({
      runner: r1,
      retry: false,
      // A one-slot queue standing in for the front-end flock of the drivers.
      onMetadataLock: async (vgName, change) => {
        const previous = tail;
        let release = () => {};
        tail = new Promise((r) => {
          release = r;
        });
        await previous;
        locked.push(vgName);
        try {
          return await change();
        } finally {
          release();
        }
      },
    });
    try {
      const made = await fe.createLv({ vg: plain, lv, sizeBytes: 8 * MiB, activate: false });
      expect(made.active).toBe(false);
      await fe.activateLv(plain, lv, 'exclusive'); // -aly, then --refresh
      expect((await fe.getLv(plain, lv)).active).toBe(true);
      await fe.addTag(plain, lv, 'one_active_node1');
      await fe.deactivateLv(plain, lv);
      expect(await fe.removeLvIfExists(plain, lv)).toBe(true);
      expect(locked).toEqual([plain, plain, plain]);
    } finally {
      await fe.ensureInactive(plain, lv).catch(() => {});
      await fe.removeLvIfExists(plain, lv).catch(() => {});
    }
  });

  it('a wrong prefix is EXEC (the shell says "not found"), never a missing LV', async () => {
    const wrong = new Lvm({ runner: r1, prefix: ['/nonexistent/lvm'], lockMode: 'lvmlockd', retry: false });
    const error = await expectCode(wrong.removeLvIfExists(vg, 'lv-one-1-0'), 'EXEC');
    expect(error.exitCode).toBe(127);
  });

  it('a command over its time limit is TIMEOUT', async () => {
    const impatient = new Lvm({ runner: r1, timeoutMs: 1, retry: false });
    await expectCode(impatient.listVgs(vg), 'TIMEOUT');
  });

  it('a VG whose metadata area is full: METADATA_FULL', async () => {
    // A local VG on a loop device of node1 with the smallest metadata area; long tags fill it fast.
    const image = `/tmp/${run}-mda.img`;
    const small = `vg-${run}-mda`;
    await sh(r1, ['truncate', '-s', '256M', image]);
    const loop = await sh(r1, ['losetup', '--find', '--show', image]);
    try {
      await sh(r1, ['pvcreate', '--yes', '--metadatasize', '16k', loop]);
      await sh(r1, ['vgcreate', small, loop]);
      const local = new Lvm({ runner: r1, retry: false, lockMode: { [small]: 'lvmlockd' } });
      const tags = Array.from({ length: 64 }, (_, t) => `t${t}_${'x'.repeat(995)}`);
      let error: LvmError | undefined;
      for (let i = 0; i < 200 && !error; i++) {
        error = await local
          .createLv({ vg: small, lv: `lv-one-${i}-0`, sizeBytes: MiB, tags, activate: false })
          .then(() => undefined)
          .catch((e: unknown) => {
            if (LvmError.isInstance(e)) return e;
            throw e;
          });
      }
      expect(error?.code, error?.message).toBe('METADATA_FULL');
      expect(error?.message).toMatch(/exceeds maximum metadata size/);
    } finally {
      await r1.run(['vgremove', '--yes', '--force', small], { reject: false });
      await r1.run(['losetup', '--detach', loop], { reject: false });
      await r1.run(['rm', '-f', image], { reject: false });
    }
  }, 300_000);

  it('lockspace stopped → LOCKSPACE_NOT_STARTED, lockStatus says so, lockStart restores it', async () => {
    // On a shared (sanlock) VG of its own, on a loop device of node1: the testbed VG cannot stop its
    // lockspace while the GFS2 LV is active, and other suites use it.
    const image = `/tmp/${run}-ls.img`;
    const own = `vg-${run}-ls`;
    await sh(r1, ['truncate', '-s', '1G', image]);
    const loop = await sh(r1, ['losetup', '--find', '--show', image]);
    const lvm = new Lvm({ runner: r1, retry: false });
    try {
      // The testbed runs dlm too (for GFS2), so lvmlockd must be told which lock manager.
      await sh(r1, ['vgcreate', '--shared', '--lock-type', 'sanlock', own, loop]);
      await lvm.lockStart(own);
      await waitStarted(lvm, own);
      expect(await lvm.lockModeOf(own)).toBe('lvmlockd');
      await lvm.createLv({ vg: own, lv: 'lv-one-1-0', sizeBytes: 8 * MiB, activate: false });
      await sh(r1, ['vgchange', '--lockstop', own]);
      const status = await lvm.lockStatus(own);
      expect(status.started, JSON.stringify(status)).toBe(false);
      expect(status.warning).toMatch(/\S/);
      const error = await expectCode(lvm.activateLv(own, 'lv-one-1-0', 'exclusive'), 'LOCKSPACE_NOT_STARTED');
      expect(error.exitCode).not.toBe(0);
      await expectCode(lvm.createLv({ vg: own, lv: 'lv-one-2-0', sizeBytes: MiB }), 'LOCKSPACE_NOT_STARTED');
      await lvm.lockStart(own);
      await waitStarted(lvm, own);
      await lvm.activateLv(own, 'lv-one-1-0', 'exclusive');
      await lvm.deactivateLv(own, 'lv-one-1-0');
    } finally {
      await r1.run(['vgchange', '--lockstart', own], { reject: false, timeoutMs: 300_000 });
      await r1.run(['vgremove', '--yes', '--force', own], { reject: false, timeoutMs: 120_000 });
      await r1.run(['losetup', '--detach', loop], { reject: false });
      await r1.run(['rm', '-f', image], { reject: false });
    }
  }, 600_000);
});
