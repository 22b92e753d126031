import { RemoteError } from '@one-gfs2clvm/ssh-remote';
import { describe, expect, it } from 'vitest';
import {
  HELPER_PREFIX,
  HostLimiter,
  Lvm,
  LvmError,
  type LvmOptions,
  type MetadataLock,
} from '../src/index.js';
import { FakeRunner, lvmCommand, recorded, replay } from '../src/testing.js';

const MiB = 2 ** 20;

/** A `vgs` answer in LVM's json flavour for one VG. */
function vgsJson(name: string, attr: string, lockType: string): string {
  const row = JSON.parse(recorded.vgsJson.stdout).report[0].vg[0];
  return JSON.stringify({
    report: [{ vg: [{ ...row, vg_name: name, vg_attr: attr, vg_lock_type: lockType }] }],
    log: [],
  });
}

/** An `lvs` answer for one LV (json flavour), from the recorded row. */
function lvsJson(vg: string, lv: string, fields: Record<string, string> = {}): string {
  const row = JSON.parse(recorded.lvsJson.stdout).report[0].lv[0];
  return JSON.stringify({ report: [{ lv: [{ ...row, vg_name: vg, lv_name: lv, ...fields }] }], log: [] });
}

const noSleep = { sleep: async () => {} };

function setup(options: Partial<LvmOptions> = {}) {
  const runner = new FakeRunner({ host: 'node1' });
  const lvm = new Lvm({ runner, limiter: new HostLimiter(4), retry: noSleep, ...options });
  return { runner, lvm };
}

/** A metadata lock (lock mode none) that records which VGs it took and which it holds right now. */
function recordingLock() {
  const held: string[] = [];
  const taken: string[] = [];
  const onMetadataLock: MetadataLock = async (vg, change) => {
    taken.push(vg);
    held.push(vg);
    try {
      return await change();
    } finally {
      held.pop();
    }
  };
  return { held, taken, onMetadataLock };
}

function sharedVg(runner: FakeRunner, vg = 'vg-one-100') {
  runner.on(lvmCommand('vgs', vg), { stdout: vgsJson(vg, 'wz--ns', 'sanlock') });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return LvmError.isInstance(error) ? error.code : `not an LvmError: ${String(error)}`;
  }
  return 'no error';
}

describe('reads', () => {
  it('listLvs: one lvs command, typed rows', async () => {
    const { runner, lvm } = setup();
    runner.on(lvmCommand('lvs', 'vg-rec-1'), replay(recorded.lvsJson));
    const lvs = await lvm.listLvs('vg-rec-1');
    expect(lvs.map((l) => l.name)).toEqual(['lv-one-7-0', 'lv-oneimg-3', 'odd+name_1.x-y']);
    expect(runner.calls).toHaveLength(1);
    expect(runner.argvs[0]?.slice(0, 2)).toEqual(['lvm', 'lvs']);
  });

  it('the prefix is configurable', async () => {
    const { runner, lvm } = setup({ prefix: ['sudo', '-n', 'lvm'] });
    runner.on(lvmCommand('lvs', 'vg-rec-1', { prefix: ['sudo', '-n', 'lvm'] }), replay(recorded.lvsJson));
    await lvm.listLvs('vg-rec-1');
    expect(runner.argvs[0]?.slice(0, 4)).toEqual(['sudo', '-n', 'lvm', 'lvs']);
  });

  it('falls back from json_std to json once (LVM 2.03.16 refuses json_std with exit 3)', async () => {
    const { runner, lvm } = setup();
    runner.on(lvmCommand('lvs', 'vg-rec-1', { has: ['json_std'] }), replay(recorded.lvsJsonStdRefused));
    runner.on(lvmCommand('lvs', 'vg-rec-1', { has: ['json'] }), replay(recorded.lvsJson));
    await lvm.listLvs('vg-rec-1');
    await lvm.listLvs('vg-rec-1');
    expect(runner.argvs.map((a) => a[a.indexOf('--reportformat') + 1])).toEqual(['json_std', 'json', 'json']);
  });

  it('capabilities given up front: json from the first command, no refused probe', async () => {
    const { runner, lvm } = setup({ capabilities: { jsonStd: false } });
    runner.on(lvmCommand('lvs', 'vg-rec-1', { has: ['json'] }), replay(recorded.lvsJson));
    const lvs = await lvm.listLvs('vg-rec-1');
    expect(lvs.length).toBeGreaterThan(0);
    expect(runner.argvs.map((a) => a[a.indexOf('--reportformat') + 1])).toEqual(['json']);
  });

  it('two commands started at once on a fresh Lvm both fall back from json_std (no lost refusal)', async () => {
    // Both run before either refusal is learnt; the second refusal arrives when the capability is
    // already off and must still be retried, not surface as INVALID_ARGUMENT (seen in one-tm).
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvs', 'vg-rec-1', { has: ['json_std'] }), replay(recorded.lvsJsonStdRefused));
    runner.on(lvmCommand('lvs', 'vg-rec-1', { has: ['json'] }), replay(recorded.lvsJson));
    const [a, b] = await Promise.all([lvm.listLvs('vg-rec-1'), lvm.listLvs('vg-rec-1')]);
    expect(a).toEqual(b);
    expect(runner.argvs.map((x) => x[x.indexOf('--reportformat') + 1])).toEqual([
      'json_std',
      'json_std',
      'json',
      'json',
    ]);
  });

  it('falls back when --setautoactivation is unknown', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvcreate', 'vg1', { has: ['--setautoactivation'] }), {
      exitCode: 3,
      stderr:
        '  lvcreate: unrecognized option --setautoactivation\n  Error during parsing of command line.\n',
    });
    runner.on(lvmCommand('lvcreate', 'vg1'), {});
    runner.on(lvmCommand('lvs', 'vg1/lv1'), { stdout: lvsJson('vg1', 'lv1') });
    await lvm.createLv({ vg: 'vg1', lv: 'lv1', sizeBytes: 4 * MiB });
    expect(
      runner.argvs.filter((a) => a[1] === 'lvcreate').map((a) => a.includes('--setautoactivation')),
    ).toEqual([true, false]);
  });

  it('drops --setautoactivation only for an LVM that does not know it, never for "unsupported with"', async () => {
    // LVM 2.03.16 says "Option --setautoactivation is unsupported with thins." (exit 3) for LV types
    // it cannot apply it to: no sign of an old LVM. Silently retrying without the flag would turn
    // autoactivation back on for every later LV, so that refusal is an error, and the flag stays.
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvcreate', 'vg1', { has: ['--setautoactivation', 'lv0'] }), {
      exitCode: 3,
      stderr: '  Option --setautoactivation is unsupported with thins.\n',
    });
    runner.on(lvmCommand('lvcreate', 'vg1', { has: ['--setautoactivation', 'lv1'] }), {});
    runner.on(lvmCommand('lvs', 'vg1/lv1'), { stdout: lvsJson('vg1', 'lv1') });
    expect(await codeOf(lvm.createLv({ vg: 'vg1', lv: 'lv0', sizeBytes: 4 * MiB }))).toBe('INVALID_ARGUMENT');
    await lvm.createLv({ vg: 'vg1', lv: 'lv1', sizeBytes: 4 * MiB });
    const creates = runner.argvs.filter((a) => a[1] === 'lvcreate');
    expect(creates.map((a) => a.includes('--setautoactivation'))).toEqual([true, true]);
  });

  it('getLv of a missing LV: NOT_FOUND from exit 5 + log; findLv: null', async () => {
    const { runner, lvm } = setup();
    runner.on(lvmCommand('lvs', 'vg-rec-1/nope'), replay(recorded.lvsLvNotFound));
    expect(await codeOf(lvm.getLv('vg-rec-1', 'nope'))).toBe('NOT_FOUND');
    expect(await lvm.findLv('vg-rec-1', 'nope')).toBeNull();
  });

  it('a missing lvm binary is EXEC, never "already gone"', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvremove', 'vg1/lv1'), { exitCode: 127, stderr: 'sh: 1: lvm: not found\n' });
    expect(await codeOf(lvm.removeLvIfExists('vg1', 'lv1'))).toBe('EXEC');
  });

  it('findLv in a missing VG throws (a wrong VG name is not "already gone")', async () => {
    const { runner, lvm } = setup();
    runner.on(lvmCommand('lvs', 'vg-nope/lv'), replay(recorded.vgsVgNotFound));
    expect(await codeOf(lvm.findLv('vg-nope', 'lv'))).toBe('NOT_FOUND');
  });

  it('a report that is not JSON is PARSE, with the argv', async () => {
    const { runner, lvm } = setup();
    runner.on(lvmCommand('vgs', 'vg1'), { stdout: 'garbage' });
    const error = await lvm.listVgs('vg1').catch((e: unknown) => e);
    expect(LvmError.hasCode(error, 'PARSE')).toBe(true);
    expect((error as LvmError).argv[1]).toBe('vgs');
  });
});

describe('hostile input is refused before anything runs', () => {
  it.each([
    ['listLvs', (l: Lvm) => l.listLvs('-vg')],
    ['getLv', (l: Lvm) => l.getLv('vg', '--force')],
    ['createLv name', (l: Lvm) => l.createLv({ vg: 'vg', lv: 'a;rm -rf /', sizeBytes: MiB })],
    ['createLv size', (l: Lvm) => l.createLv({ vg: 'vg', lv: 'lv', sizeBytes: 2 ** 60 })],
    ['createLv tag', (l: Lvm) => l.createLv({ vg: 'vg', lv: 'lv', sizeBytes: MiB, tags: ['$(id)'] })],
    ['removeLv', (l: Lvm) => l.removeLv('vg', '..')],
    ['renameLv', (l: Lvm) => l.renameLv('vg', 'a', '-b')],
    ['extendLv', (l: Lvm) => l.extendLv('vg', 'lv', -1)],
    ['extendLv metadata', (l: Lvm) => l.extendLv('vg', 'lv', MiB, { metadataSizeBytes: 1000 })],
    ['activateLv', (l: Lvm) => l.activateLv('vg', 'lv', 'everywhere' as 'local')],
    ['addTag', (l: Lvm) => l.addTag('vg', 'lv', '-x')],
    ['activateLv addTags', (l: Lvm) => l.activateLv('vg', 'lv', 'exclusive', { addTags: ['--config=x'] })],
    ['activateLv empty tag', (l: Lvm) => l.activateLv('vg', 'lv', 'exclusive', { addTags: ['one_a', ''] })],
    [
      'activateLv three tags',
      (l: Lvm) => l.activateLv('vg', 'lv', 'exclusive', { addTags: ['one_a', 'one_b', 'one_c'] }),
    ],
    [
      'activateLv tags not a list',
      (l: Lvm) => l.activateLv('vg', 'lv', 'exclusive', { addTags: 'one_a' as never }),
    ],
    ['deactivateLv delTag', (l: Lvm) => l.deactivateLv('vg', 'lv', { delTag: 'a b' })],
    ['deactivateLv addTag', (l: Lvm) => l.deactivateLv('vg', 'lv', { addTag: 'one_$(id)' })],
    ['lockStart', (l: Lvm) => l.lockStart('vg/x')],
    ['createSnapshot', (l: Lvm) => l.createSnapshot({ vg: 'vg', origin: 'lv', lv: 'snapshot0' })],
  ])('%s', async (_name, call) => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    expect(await codeOf(call(lvm))).toBe('INVALID_ARGUMENT');
    expect(runner.calls).toEqual([]);
  });

  it('constructor options', () => {
    const runner = new FakeRunner();
    expect(() => new Lvm({ runner, prefix: [] })).toThrow(/prefix is empty/);
    expect(() => new Lvm({ runner, backend: 'ssh' as 'lvm' })).toThrow(/unknown backend/);
    expect(() => new Lvm({ runner, maxConcurrent: 0 })).toThrow(/maxConcurrent/);
    expect(() => new Lvm({} as LvmOptions)).toThrow(/needs a runner/);
  });
});

describe('writes', () => {
  it('createLv creates with autoactivation off, then re-reads', async () => {
    const { runner, lvm } = setup();
    sharedVg(runner);
    runner.on(
      lvmCommand('lvcreate', 'vg-one-100', { has: ['--setautoactivation', 'lv-one-7-0', '67108864b'] }),
      replay(recorded.lvcreateOkJson),
    );
    runner.on(lvmCommand('lvs', 'vg-one-100/lv-one-7-0'), {
      stdout: lvsJson('vg-one-100', 'lv-one-7-0', { lv_size: '67108864' }),
    });
    const lv = await lvm.createLv({ vg: 'vg-one-100', lv: 'lv-one-7-0', sizeBytes: 64 * MiB });
    expect(lv.sizeBytes).toBe(64 * MiB);
    expect(runner.argvs.map((a) => a[1])).toEqual(['vgs', 'lvcreate', 'lvs']);
  });

  it('createLv of an existing name: ALREADY_EXISTS, not retried', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvcreate', 'vg-rec-1'), replay(recorded.lvcreateAlreadyExists));
    const error = await lvm
      .createLv({ vg: 'vg-rec-1', lv: 'lv-one-7-0', sizeBytes: MiB })
      .catch((e: unknown) => e);
    expect(LvmError.hasCode(error, 'ALREADY_EXISTS')).toBe(true);
    expect((error as LvmError).message).toBe(
      'lvcreate vg-rec-1/lv-one-7-0 on node1: Logical Volume "lv-one-7-0" already exists in volume group "vg-rec-1"',
    );
    expect(runner.calls).toHaveLength(1);
  });

  it('removeLvIfExists: true, then false (idempotent)', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvremove', 'vg-rec-1/lv1'), {}, { times: 1 });
    runner.on(lvmCommand('lvremove', 'vg-rec-1/lv1'), replay(recorded.lvremoveNotFound));
    expect(await lvm.removeLvIfExists('vg-rec-1', 'lv1')).toBe(true);
    expect(await lvm.removeLvIfExists('vg-rec-1', 'lv1')).toBe(false);
  });

  it('extendLv never shrinks, is a no-op at the same size, re-reads the real size', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(
      lvmCommand('lvs', 'vg1/lv1'),
      { stdout: lvsJson('vg1', 'lv1', { lv_size: String(12 * MiB) }) },
      { times: 3 },
    );
    runner.on(lvmCommand('lvextend', 'vg1/lv1', { has: [`${13 * MiB}b`] }), {});
    runner.on(lvmCommand('lvs', 'vg1/lv1'), { stdout: lvsJson('vg1', 'lv1', { lv_size: String(16 * MiB) }) });
    expect(await codeOf(lvm.extendLv('vg1', 'lv1', 8 * MiB))).toBe('UNSUPPORTED');
    expect((await lvm.extendLv('vg1', 'lv1', 12 * MiB)).sizeBytes).toBe(12 * MiB);
    expect((await lvm.extendLv('vg1', 'lv1', 13 * MiB)).sizeBytes).toBe(16 * MiB);
    expect(runner.argvs.filter((a) => a[1] === 'lvextend')).toHaveLength(1);
  });

  it('insufficient space', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvcreate', 'vg-rec-1'), replay(recorded.lvcreateInsufficientSpace));
    expect(await codeOf(lvm.createLv({ vg: 'vg-rec-1', lv: 'big', sizeBytes: 2 ** 40 }))).toBe(
      'INSUFFICIENT_SPACE',
    );
  });

  it('metadata full', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvcreate', 'vg-rec-mda'), replay(recorded.lvcreateMetadataFull));
    expect(await codeOf(lvm.createLv({ vg: 'vg-rec-mda', lv: 'x', sizeBytes: MiB }))).toBe('METADATA_FULL');
  });
});

describe('lock modes', () => {
  it('detected once per VG from vgs', async () => {
    const { runner, lvm } = setup();
    runner.on(lvmCommand('vgs', 'vg-a'), { stdout: vgsJson('vg-a', 'wz--ns', 'sanlock') });
    runner.on(lvmCommand('vgs', 'vg-b'), { stdout: vgsJson('vg-b', 'wz--nc', '') });
    runner.on(lvmCommand('vgs', 'vg-c'), { stdout: vgsJson('vg-c', 'wz--n-', '') });
    expect(await lvm.lockModeOf('vg-a')).toBe('lvmlockd');
    expect(await lvm.lockModeOf('vg-b')).toBe('clvmd');
    expect(await lvm.lockModeOf('vg-c')).toBe('none');
    expect(await lvm.lockModeOf('vg-a')).toBe('lvmlockd');
    expect(runner.calls).toHaveLength(3);
  });

  it('override per VG', async () => {
    const { runner, lvm } = setup({ lockMode: { 'vg-a': 'none' } });
    expect(await lvm.lockModeOf('vg-a')).toBe('none');
    expect(runner.calls).toHaveLength(0);
  });

  it('lvmlockd: exclusive activation is -aey', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['ey'] }), {});
    await lvm.activateLv('vg1', 'lv1');
    runner.assertDone();
    expect(runner.calls).toHaveLength(1);
  });

  it('none: metadata change without a lock callback is refused, nothing changed', async () => {
    const { runner, lvm } = setup({ lockMode: 'none' });
    const error = await lvm.createLv({ vg: 'vg1', lv: 'lv1', sizeBytes: MiB }).catch((e: unknown) => e);
    expect(LvmError.hasCode(error, 'LOCK_CALLBACK_MISSING')).toBe(true);
    expect((error as Error).message).toMatch(/^lvcreate vg1\/lv1: VG vg1 has no cluster locking/);
    expect(runner.calls).toEqual([]);
  });

  it('none: metadata changes run inside the callback, activation is local + refresh', async () => {
    const { held, taken, onMetadataLock } = recordingLock();
    const { runner, lvm } = setup({ lockMode: 'none', onMetadataLock });
    runner.on(
      (argv) => argv[1] === 'lvcreate',
      () => {
        expect(held).toEqual(['vg1']);
        return {};
      },
    );
    runner.on(lvmCommand('lvs', 'vg1/lv1'), { stdout: lvsJson('vg1', 'lv1') });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['ly'] }), () => {
      expect(held).toEqual([]);
      return {};
    });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['--refresh'] }), {});
    await lvm.createLv({ vg: 'vg1', lv: 'lv1', sizeBytes: MiB });
    await lvm.activateLv('vg1', 'lv1', 'exclusive');
    expect(taken).toEqual(['vg1']);
    expect(
      runner.argvs.map((a) => a.slice(1, 2).concat(a.filter((x) => ['ly', '--refresh'].includes(x)))),
    ).toEqual([['lvcreate'], ['lvs'], ['lvchange', 'ly'], ['lvchange', '--refresh']]);
  });
});

describe('activation and tag in one lvchange', () => {
  it('lock mode none: the tagging activation runs under the metadata lock, the refresh after it', async () => {
    const { held, onMetadataLock } = recordingLock();
    const { runner, lvm } = setup({ lockMode: 'none', onMetadataLock });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['ly', '--addtag'] }), () => {
      expect(held).toEqual(['vg1']);
      return {};
    });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['n', '--deltag'] }), () => {
      expect(held).toEqual(['vg1']);
      return {};
    });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['n', '--addtag'] }), () => {
      expect(held).toEqual(['vg1']);
      return {};
    });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['--refresh'] }), () => {
      expect(held).toEqual([]);
      return {};
    });
    await lvm.activateLv('vg1', 'lv1', 'exclusive', { addTags: ['one_active_node1', 'one_written'] });
    await lvm.deactivateLv('vg1', 'lv1', { delTag: 'one_active_node1' });
    await lvm.deactivateLv('vg1', 'lv1', { addTag: 'one_map.1.2.x' });
    expect(
      runner.argvs.map((a) => a.filter((x) => /^(?:ly|n|--refresh|--addtag|--deltag)$/.test(x))),
    ).toEqual([['--addtag', '--addtag', 'ly'], ['--refresh'], ['--deltag', 'n'], ['--addtag', 'n']]);
  });

  it('duplicate tags are added once; an empty list is a plain activation', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['ey'] }), {});
    await lvm.activateLv('vg1', 'lv1', 'exclusive', { addTags: ['one_written', 'one_written'] });
    await lvm.activateLv('vg1', 'lv1', 'exclusive', { addTags: [] });
    expect(runner.argvs.map((a) => a.filter((x) => x === '--addtag' || x === 'one_written'))).toEqual([
      ['--addtag', 'one_written'],
      [],
    ]);
    expect(runner.argvs[1]).toContain('--reportformat');
  });

  it('deactivate: delTag and addTag in one lvchange (lvm back-end)', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['n'] }), {});
    await lvm.deactivateLv('vg1', 'lv1', { delTag: 'one_a', addTag: 'one_b' });
    expect(runner.argvs[0]?.slice(-7)).toEqual([
      '--deltag',
      'one_a',
      '--addtag',
      'one_b',
      '--activate',
      'n',
      'vg1/lv1',
    ]);
  });

  it('a refused activation keeps its code (the tag change comes first in LVM)', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd', retry: false });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['ey', '--addtag'] }), {
      exitCode: 5,
      stderr:
        '  WARNING: Combining activation change with other commands is not advised.\n  LV locked by other host: vg1/lv1\n  Failed to lock logical volume vg1/lv1.\n',
    });
    expect(await codeOf(lvm.activateLv('vg1', 'lv1', 'exclusive', { addTags: ['one_active_node1'] }))).toBe(
      'LOCKED_BY_OTHER_HOST',
    );
  });

  it('a deactivation refused because the LV is open is IN_USE', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd', retry: false });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['n', '--deltag'] }), {
      exitCode: 5,
      stderr:
        '  WARNING: Combining activation change with other commands is not advised.\n  Logical volume vg1/lv1 in use.\n',
    });
    expect(await codeOf(lvm.deactivateLv('vg1', 'lv1', { delTag: 'one_active_node1' }))).toBe('IN_USE');
  });
});

describe('extendLv of a thin pool with its metadata', () => {
  const pool = (size: number, metadata: number) =>
    lvsJson('vg1', 'pool', { lv_size: String(size), lv_metadata_size: String(metadata) });

  it('one lvextend with --poolmetadatasize when the metadata must grow, also at the same data size', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvs', 'vg1/pool'), { stdout: pool(64 * MiB, 4 * MiB) }, { times: 1 });
    runner.on(lvmCommand('lvextend', 'vg1/pool'), {});
    runner.on(lvmCommand('lvs', 'vg1/pool'), { stdout: pool(64 * MiB, 8 * MiB) });
    const grown = await lvm.extendLv('vg1', 'pool', 64 * MiB, { metadataSizeBytes: 8 * MiB });
    expect(grown.metadataSizeBytes).toBe(8 * MiB);
    expect(runner.argvs[1]?.slice(-5)).toEqual([
      '--size',
      `${64 * MiB}b`,
      '--poolmetadatasize',
      `${8 * MiB}b`,
      'vg1/pool',
    ]);
  });

  it('the metadata left out when it is that large already; nothing at all when neither grows', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvs', 'vg1/pool'), { stdout: pool(64 * MiB, 8 * MiB) });
    runner.on(lvmCommand('lvextend', 'vg1/pool'), {});
    await lvm.extendLv('vg1', 'pool', 128 * MiB, { metadataSizeBytes: 8 * MiB });
    expect(runner.argvs[1]).not.toContain('--poolmetadatasize');
    await lvm.extendLv('vg1', 'pool', 64 * MiB, { metadataSizeBytes: 4 * MiB });
    expect(runner.argvs.filter((a) => a[1] === 'lvextend')).toHaveLength(1);
  });
});

describe('lock mode read with the LV (lockMode auto, plain LVM)', () => {
  it('an lvs row carrying vg_attr/vg_lock_type tells the lock mode: no vgs before the activation', async () => {
    const { runner, lvm } = setup();
    runner.on(lvmCommand('lvs', 'vg1/lv1'), {
      stdout: lvsJson('vg1', 'lv1', { vg_attr: 'wz--ns', vg_lock_type: 'sanlock' }),
    });
    runner.on(lvmCommand('lvchange', 'vg1/lv1', { has: ['ey'] }), {});
    await lvm.getLv('vg1', 'lv1');
    expect(await lvm.lockModeOf('vg1')).toBe('lvmlockd');
    await lvm.activateLv('vg1', 'lv1', 'exclusive');
    expect(runner.argvs.map((a) => a[1])).toEqual(['lvs', 'lvchange']);
  });

  it('a plain VG read that way is lock mode none; rows without the VG fields still need vgs', async () => {
    const plain = setup();
    plain.runner.on(lvmCommand('lvs', 'vg2/lv1'), {
      stdout: lvsJson('vg2', 'lv1', { vg_attr: 'wz--n-', vg_lock_type: '' }),
    });
    await plain.lvm.getLv('vg2', 'lv1');
    expect(await plain.lvm.lockModeOf('vg2')).toBe('none');
    const old = setup();
    old.runner.on(lvmCommand('lvs', 'vg1/lv1'), { stdout: lvsJson('vg1', 'lv1') });
    sharedVg(old.runner, 'vg1');
    await old.lvm.getLv('vg1', 'lv1');
    expect(await old.lvm.lockModeOf('vg1')).toBe('lvmlockd');
    expect(old.runner.argvs.map((a) => a[1])).toEqual(['lvs', 'vgs']);
  });
});

describe('retries and timeouts', () => {
  it('a VG lock held by another host is retried with backoff for lockWaitMs, then one line says so', async () => {
    let clock = 0;
    const sleeps: number[] = [];
    const { runner, lvm } = setup({
      lockMode: 'lvmlockd',
      retry: {
        attempts: 2, // not what bounds a held lock
        lockWaitMs: 1000,
        baseDelayMs: 100,
        random: () => 0.999,
        now: () => clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
      },
    });
    runner.on(lvmCommand('lvremove', 'vg1/lv1'), {
      exitCode: 5,
      stderr: '  Retrying ex lock on VG vg1\n  VG vg1 lock failed: held by other host.\n',
    });
    const error = await lvm.removeLv('vg1', 'lv1').catch((e: unknown) => e);
    expect(LvmError.hasCode(error, 'LOCKED_BY_OTHER_HOST')).toBe(true);
    expect((error as LvmError).isRetryable).toBe(true);
    expect(sleeps).toEqual([100, 200, 400, 300]); // the last one only up to the budget
    expect(runner.calls).toHaveLength(5);
    expect((error as LvmError).message).toBe(
      'lvremove vg1/lv1 on node1: VG vg1 lock failed: held by other host. (still held by another host after 1 s and 5 tries; retry.lockWaitMs)',
    );
  });

  it('a VG lock held by another host for a while: the command succeeds once it is free', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(
      lvmCommand('lvremove', 'vg1/lv1'),
      { exitCode: 5, stderr: '  VG vg1 lock failed: held by other host.\n' },
      { times: 6 }, // more than `attempts`
    );
    runner.on(lvmCommand('lvremove', 'vg1/lv1'), {});
    await lvm.removeLv('vg1', 'lv1');
    expect(runner.calls).toHaveLength(7);
  });

  it('retry then success', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(
      lvmCommand('lvremove', 'vg1/lv1'),
      { exitCode: 5, stderr: '  VG vg1 lock failed: lock start in progress\n' },
      { times: 2 },
    );
    runner.on(lvmCommand('lvremove', 'vg1/lv1'), {});
    await lvm.removeLv('vg1', 'lv1');
    expect(runner.calls).toHaveLength(3);
  });

  it('an LV locked by another host is not retried', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvchange', 'vg1/lv1'), {
      exitCode: 5,
      stderr: '  LV locked by other host: vg1/lv1\n',
    });
    expect(await codeOf(lvm.activateLv('vg1', 'lv1'))).toBe('LOCKED_BY_OTHER_HOST');
    expect(runner.calls).toHaveLength(1);
  });

  it('a timed-out read is TIMEOUT and retried; a timed-out write is not', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd', timeoutMs: 20 });
    runner.on(lvmCommand('vgs', 'vg1'), { delayMs: 1000 });
    runner.on(lvmCommand('lvremove', 'vg1/lv1'), { delayMs: 1000 });
    expect(await codeOf(lvm.listVgs('vg1'))).toBe('TIMEOUT');
    expect(runner.calls).toHaveLength(4);
    expect(await codeOf(lvm.removeLv('vg1', 'lv1'))).toBe('TIMEOUT');
    expect(runner.calls).toHaveLength(5);
  });

  it('a lost connection on a write is EXEC, not retried; an unreachable host is retried', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvremove', 'vg1/lv1'), {});
    runner.failNext(1, 'CONNECTION_LOST');
    expect(await codeOf(lvm.removeLv('vg1', 'lv1'))).toBe('EXEC');
    runner.failNext(2, 'UNREACHABLE');
    await lvm.removeLv('vg1', 'lv1');
    expect(runner.calls).toHaveLength(4);
  });

  it('runner errors keep their cause', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd', retry: false });
    runner.on(lvmCommand('vgs', 'vg1'), new RemoteError('AUTH_FAILED', 'node1: permission denied'));
    const error = (await lvm.listVgs('vg1').catch((e: unknown) => e)) as LvmError;
    expect(error.code).toBe('EXEC');
    expect(RemoteError.isInstance(error.cause)).toBe(true);
  });
});

describe('per-host concurrency cap', () => {
  it('never more than maxConcurrent commands in flight per host, shared across Lvm objects', async () => {
    const limiter = new HostLimiter(2);
    let inFlight = 0;
    let peak = 0;
    const runner = new FakeRunner({ host: 'node1' });
    runner.on(lvmCommand('vgs', 'vg1'), async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { stdout: vgsJson('vg1', 'wz--ns', 'sanlock') };
    });
    const a = new Lvm({ runner, limiter });
    const b = new Lvm({ runner, limiter });
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).listVgs('vg1')));
    expect(peak).toBe(2);
    expect(runner.calls).toHaveLength(10);
  });
});

describe('ensure helpers and lock status', () => {
  it('ensureActive under lvmlockd always runs -aey (LVM cannot tell shared from exclusive)', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    const active = { lv_attr: '-wi-a-----', lv_active_locally: '1', lv_active_exclusively: '1' };
    runner.on(lvmCommand('lvs', 'vg1/on'), { stdout: lvsJson('vg1', 'on', active) });
    runner.on(lvmCommand('lvchange', 'vg1/on', { has: ['ey'] }), {});
    expect((await lvm.ensureActive('vg1', 'on')).active).toBe(true);
    expect(runner.argvs.map((a) => a[1])).toEqual(['lvs', 'lvchange', 'lvs']);
  });

  it('ensureActive in lock mode none skips an active LV, activates an inactive one', async () => {
    const { runner, lvm } = setup({ lockMode: 'none' });
    const active = { lv_attr: '-wi-a-----', lv_active_locally: '1' };
    runner.on(lvmCommand('lvs', 'vg1/on'), { stdout: lvsJson('vg1', 'on', active) });
    runner.on(
      lvmCommand('lvs', 'vg1/off'),
      { stdout: lvsJson('vg1', 'off', { lv_attr: '-wi-------' }) },
      { times: 1 },
    );
    runner.on(lvmCommand('lvchange', 'vg1/off', { has: ['ly'] }), {});
    runner.on(lvmCommand('lvchange', 'vg1/off', { has: ['--refresh'] }), {});
    runner.on(lvmCommand('lvs', 'vg1/off'), { stdout: lvsJson('vg1', 'off', active) });
    expect((await lvm.ensureActive('vg1', 'on')).active).toBe(true);
    expect((await lvm.ensureActive('vg1', 'off')).active).toBe(true);
    expect(runner.argvs.filter((a) => a[1] === 'lvchange')).toHaveLength(2);
    runner.assertDone();
  });

  it('ensureInactive: missing LV is false', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    runner.on(lvmCommand('lvs', 'vg-rec-1/nope'), replay(recorded.lvsLvNotFound));
    expect(await lvm.ensureInactive('vg-rec-1', 'nope')).toBe(false);
  });

  it('lockStatus reads the VG and looks for lvmlockd warnings', async () => {
    const { runner, lvm } = setup({ lockMode: 'lvmlockd' });
    const stdout = vgsJson('vg1', 'wz--ns', 'sanlock');
    runner.on(lvmCommand('vgs', 'vg1'), { stdout }, { times: 1 });
    runner.on(lvmCommand('vgs', 'vg1'), { stdout, stderr: '  VG vg1 lock skipped: lockspace is inactive\n' });
    expect(await lvm.lockStatus('vg1')).toEqual({
      vg: 'vg1',
      lockMode: 'lvmlockd',
      lockType: 'sanlock',
      started: true,
      warning: null,
    });
    expect(await lvm.lockStatus('vg1')).toMatchObject({
      started: false,
      warning: 'VG vg1 lock skipped: lockspace is inactive',
    });
  });
});

describe('helper back-end', () => {
  it('runs the verbs with the helper prefix and parses the same JSON', async () => {
    const runner = new FakeRunner({ host: 'node1' });
    const lvm = new Lvm({ runner, backend: 'helper', lockMode: 'lvmlockd', limiter: new HostLimiter(1) });
    runner.on([...HELPER_PREFIX, 'report', 'lvs', 'vg-rec-1'], replay(recorded.lvsJson));
    // The configured mode is checked by the first command that changes the VG (issue 18), once.
    runner.on([...HELPER_PREFIX, 'expect', 'lvmlockd', 'create', 'vg1', 'lv1', '1048576', 'linear'], {});
    runner.on([...HELPER_PREFIX, 'tag', 'vg1', 'lv1', 'add', 'one_active_node1'], {});
    runner.on([...HELPER_PREFIX, 'report', 'lvs', 'vg1', 'lv1'], { stdout: lvsJson('vg1', 'lv1') });
    runner.on([...HELPER_PREFIX, 'activate', 'vg1', 'lv1', 'shared'], {
      exitCode: 5,
      stderr: '  LV locked by other host: vg1/lv1\n',
    });
    expect(await lvm.listLvs('vg-rec-1')).toHaveLength(3);
    await lvm.createLv({ vg: 'vg1', lv: 'lv1', sizeBytes: MiB, tags: ['one_active_node1'] });
    const error = (await lvm.activateLv('vg1', 'lv1', 'shared').catch((e: unknown) => e)) as LvmError;
    expect(error.code).toBe('LOCKED_BY_OTHER_HOST');
    expect(error.argv).toEqual([...HELPER_PREFIX, 'activate', 'vg1', 'lv1', 'shared']);
  });

  it('two tags with the activation, seal, and a refused delTag + addTag that runs nothing', async () => {
    const runner = new FakeRunner({ host: 'node1' });
    const lvm = new Lvm({ runner, backend: 'helper', lockMode: 'lvmlockd', limiter: new HostLimiter(1) });
    runner.on(
      [
        ...HELPER_PREFIX,
        'expect',
        'lvmlockd',
        'activate',
        'vg1',
        'lv1',
        'exclusive',
        'one_active_node1',
        'one_written',
      ],
      {},
    );
    runner.on([...HELPER_PREFIX, 'seal', 'vg1', 'lv1', 'one_map.1.2.x'], {});
    await lvm.activateLv('vg1', 'lv1', 'exclusive', { addTags: ['one_active_node1', 'one_written'] });
    await lvm.deactivateLv('vg1', 'lv1', { addTag: 'one_map.1.2.x' });
    const refused = await lvm
      .deactivateLv('vg1', 'lv1', { delTag: 'one_active_node1', addTag: 'one_written' })
      .catch((e: unknown) => e);
    expect(LvmError.hasCode(refused, 'UNSUPPORTED')).toBe(true);
    expect((refused as LvmError).message).toMatch(
      /^deactivate vg1\/lv1: the host helper .* not both at once$/,
    );
    expect(runner.calls).toHaveLength(2);
  });
});

describe('lock mode known at no command of its own with the host helper (issue 18)', () => {
  const activate = ['activate', 'vg1', 'lv1', 'exclusive', 'one_active_node1', 'one_written'];
  const tags = { addTags: ['one_active_node1', 'one_written'] };
  const mismatch = (actual: string, expected: string) => ({
    exitCode: 65,
    stderr: `one-gfs2clvm-helper: VG vg1 has lock mode ${actual}, not ${expected}\n`,
  });
  function helper(options: Partial<LvmOptions> = {}) {
    const runner = new FakeRunner({ host: 'node1' });
    const lock = recordingLock();
    const lvm = new Lvm({
      runner,
      backend: 'helper',
      limiter: new HostLimiter(1),
      retry: noSleep,
      onMetadataLock: lock.onMetadataLock,
      ...options,
    });
    return { runner, lvm, lock };
  }

  it('auto, cluster-locked VG: the helper checks it in the activation itself, no vgs; later commands unchecked', async () => {
    const { runner, lvm, lock } = helper();
    runner.on([...HELPER_PREFIX, 'expect', 'cluster', ...activate], {});
    runner.on([...HELPER_PREFIX, 'deactivate', 'vg1', 'lv1', 'one_active_node1'], {});
    await lvm.activateLv('vg1', 'lv1', 'exclusive', tags);
    await lvm.deactivateLv('vg1', 'lv1', { delTag: 'one_active_node1' });
    expect(runner.calls.map((c) => c.argv.slice(HELPER_PREFIX.length).join(' '))).toEqual([
      'expect cluster activate vg1 lv1 exclusive one_active_node1 one_written',
      'deactivate vg1 lv1 one_active_node1',
    ]);
    expect(lock.taken).toEqual([]);
  });

  it('auto, plain VG: the helper answers none (nothing run), then the none way under the front-end lock', async () => {
    const { runner, lvm, lock } = helper();
    runner.on([...HELPER_PREFIX, 'expect', 'cluster', ...activate], mismatch('none', 'cluster'));
    runner.on([...HELPER_PREFIX, 'activate', 'vg1', 'lv1', 'local', 'one_active_node1', 'one_written'], {});
    runner.on([...HELPER_PREFIX, 'refresh', 'vg1', 'lv1'], {});
    runner.on([...HELPER_PREFIX, 'deactivate', 'vg1', 'lv1', 'one_active_node1'], {});
    await lvm.activateLv('vg1', 'lv1', 'exclusive', tags);
    await lvm.deactivateLv('vg1', 'lv1', { delTag: 'one_active_node1' });
    expect(runner.calls.map((c) => c.argv.slice(HELPER_PREFIX.length).join(' '))).toEqual([
      'expect cluster activate vg1 lv1 exclusive one_active_node1 one_written',
      'activate vg1 lv1 local one_active_node1 one_written',
      'refresh vg1 lv1',
      'deactivate vg1 lv1 one_active_node1',
    ]);
    // The tag changes ran under the front-end lock, the refused first try did not need it.
    expect(lock.taken).toEqual(['vg1', 'vg1']);
    expect(await lvm.lockModeOf('vg1')).toBe('none');
  });

  it('auto, untagged activation: checked too (mode none activates locally and refreshes)', async () => {
    const { runner, lvm } = helper();
    runner.on(
      [...HELPER_PREFIX, 'expect', 'cluster', 'activate', 'vg1', 'lv1', 'shared'],
      mismatch('none', 'cluster'),
    );
    runner.on([...HELPER_PREFIX, 'activate', 'vg1', 'lv1', 'local'], {});
    runner.on([...HELPER_PREFIX, 'refresh', 'vg1', 'lv1'], {});
    await lvm.activateLv('vg1', 'lv1', 'shared');
    expect(runner.calls).toHaveLength(3);
  });

  it.each([
    ['lvmlockd', 'none'],
    ['none', 'lvmlockd'],
    ['clvmd', 'lvmlockd'],
  ] as const)(
    'configured %s, the VG is %s: LOCK_MODE_MISMATCH, loudly, nothing changed',
    async (configured, actual) => {
      const { runner, lvm, lock } = helper({ lockMode: configured });
      runner.on(
        [...HELPER_PREFIX, 'expect', configured, 'remove', 'vg1', 'lv1'],
        mismatch(actual, configured),
      );
      const error = (await lvm.removeLv('vg1', 'lv1').catch((e: unknown) => e)) as LvmError;
      expect(error.code).toBe('LOCK_MODE_MISMATCH');
      expect(error.message).toBe(
        `lvremove vg1/lv1 on node1: one-gfs2clvm-helper: VG vg1 has lock mode ${actual}, not ${configured}: the configured lock mode is ${configured}; correct the configuration (one-gfs2clvm doctor compares it with the VGs)`,
      );
      expect(runner.calls).toHaveLength(1);
      expect(lock.taken).toEqual(configured === 'none' ? ['vg1'] : []);
    },
  );

  it('a mode learnt from an LV report of this process needs no check (as the per-action read)', async () => {
    const { runner, lvm } = helper();
    runner.on([...HELPER_PREFIX, 'report', 'lvs', 'vg1', 'lv1'], {
      stdout: lvsJson('vg1', 'lv1', { vg_attr: 'wz--ns', vg_lock_type: 'sanlock' }),
    });
    runner.on([...HELPER_PREFIX, ...activate], {});
    await lvm.getLv('vg1', 'lv1');
    await lvm.activateLv('vg1', 'lv1', 'exclusive', tags);
    expect(runner.calls.map((c) => c.argv[HELPER_PREFIX.length])).toEqual(['report', 'activate']);
  });
});

describe('a host helper older than expect (front-end upgraded first)', () => {
  it('refused expect (exit 64, nothing run) falls back to the vgs read, once per Lvm', async () => {
    const runner = new FakeRunner({ host: 'node1' });
    const lvm = new Lvm({ runner, backend: 'helper', limiter: new HostLimiter(1), retry: noSleep });
    const unknown = {
      exitCode: 64,
      stderr: 'one-gfs2clvm-helper: unknown verb (see the usage in /usr/local/sbin/one-gfs2clvm-helper)\n',
    };
    runner.on(
      [...HELPER_PREFIX, 'expect', 'cluster', 'activate', 'vg1', 'lv1', 'exclusive', 'one_active_node1'],
      unknown,
    );
    runner.on([...HELPER_PREFIX, 'report', 'vgs', 'vg1'], { stdout: vgsJson('vg1', 'wz--ns', 'sanlock') });
    runner.on([...HELPER_PREFIX, 'activate', 'vg1', 'lv1', 'exclusive', 'one_active_node1'], {});
    runner.on([...HELPER_PREFIX, 'remove', 'vg1', 'lv2'], {});
    await lvm.activateLv('vg1', 'lv1', 'exclusive', { addTags: ['one_active_node1'] });
    await lvm.removeLv('vg1', 'lv2');
    expect(runner.calls.map((c) => c.argv.slice(HELPER_PREFIX.length).join(' '))).toEqual([
      'expect cluster activate vg1 lv1 exclusive one_active_node1',
      'report vgs vg1',
      'activate vg1 lv1 exclusive one_active_node1',
      'remove vg1 lv2',
    ]);
  });
});
