import { RemoteError } from '@one-gfs2clvm/ssh-remote';
import { describe, expect, it } from 'vitest';
import {
  blkdiscardWipeArgv,
  DATA_TIMEOUT_MS,
  ddWipeArgv,
  HELPER_PREFIX,
  HostLimiter,
  helperWipeArgv,
  Lvm,
  LvmError,
  type LvmOptions,
  type WipeRange,
} from '../src/index.js';
import { FakeRunner, lvmCommand, recorded } from '../src/testing.js';
import { failure } from './failure.js';

const MiB = 2 ** 20;
const VG = 'vg-one-100';
const LV = 'lv-one-4200-0';
const DEV = `/dev/${VG}/${LV}`;
const BUILDERS = { helper: helperWipeArgv, blkdiscard: blkdiscardWipeArgv, dd: ddWipeArgv };

/** An `lvs` answer for LV of `sizeBytes` (json flavour), from the recorded row. */
function lvsJson(sizeBytes: number): string {
  const row = JSON.parse(recorded.lvsJson.stdout).report[0].lv[0];
  return JSON.stringify({
    report: [{ lv: [{ ...row, vg_name: VG, lv_name: LV, lv_size: String(sizeBytes) }] }],
    log: [],
  });
}

function setup(options: Partial<LvmOptions> = {}) {
  const runner = new FakeRunner({ host: 'node1' });
  const lvm = new Lvm({ runner, limiter: new HostLimiter(4), retry: false, ...options });
  return { runner, lvm };
}

describe('wipe argv builders', () => {
  it('helper: wipe <vg> <lv> [<offset> <length>]', () => {
    expect(helperWipeArgv(VG, LV)).toEqual(['wipe', VG, LV]);
    expect(helperWipeArgv(VG, LV, { offsetBytes: 0, lengthBytes: 32 * MiB })).toEqual([
      'wipe',
      VG,
      LV,
      '0',
      String(32 * MiB),
    ]);
  });

  it('plain LVM: blkdiscard --zeroout stepped by 32 MiB over the device or a range of it', () => {
    expect(blkdiscardWipeArgv(VG, LV)).toEqual(['blkdiscard', '--zeroout', '--step', '33554432', DEV]);
    expect(blkdiscardWipeArgv(VG, LV, { offsetBytes: 4096, lengthBytes: 8192 })).toEqual([
      'blkdiscard',
      '--zeroout',
      '--step',
      '33554432',
      '--offset',
      '4096',
      '--length',
      '8192',
      DEV,
    ]);
  });

  it('plain LVM fall-back: dd from /dev/zero, direct, byte offsets for a range', () => {
    const head = ['dd', 'if=/dev/zero', `of=${DEV}`, 'bs=4M', 'conv=notrunc', 'status=none'];
    expect(ddWipeArgv(VG, LV)).toEqual([...head, 'oflag=direct']);
    expect(ddWipeArgv(VG, LV, { offsetBytes: MiB, lengthBytes: 512 })).toEqual([
      ...head,
      `seek=${MiB}`,
      'count=512',
      'oflag=seek_bytes,direct',
      'iflag=count_bytes',
    ]);
  });

  const bad: Array<[string, WipeRange, RegExp]> = [
    [
      'negative offset',
      { offsetBytes: -512, lengthBytes: 512 },
      /offset -512 is not a whole number of bytes from 0 to 1 PiB/,
    ],
    ['negative length', { offsetBytes: 0, lengthBytes: -512 }, /length -512 is not a whole number of bytes/],
    ['fractional length', { offsetBytes: 0, lengthBytes: 0.5 }, /length 0.5 is not a whole number/],
    ['unaligned offset', { offsetBytes: 100, lengthBytes: 512 }, /offset 100 is not a multiple of 512/],
    ['unaligned length', { offsetBytes: 0, lengthBytes: 1000 }, /length 1000 is not a multiple of 512/],
    [
      'huge offset',
      { offsetBytes: 2 ** 60, lengthBytes: 512 },
      /offset 1152921504606847000 is not a whole number of bytes from 0 to 1 PiB/,
    ],
    [
      'huge end',
      { offsetBytes: 2 ** 50, lengthBytes: 512 },
      /range ends at 1125899906843136 bytes, beyond 1 PiB/,
    ],
    ['beyond safe integers', { offsetBytes: 0, lengthBytes: 2 ** 64 }, /length 18446744073709552000 is not/],
    ['infinite', { offsetBytes: 0, lengthBytes: Number.POSITIVE_INFINITY }, /length Infinity is not/],
    ['NaN', { offsetBytes: Number.NaN, lengthBytes: 512 }, /offset NaN is not/],
  ];
  for (const [builder, build] of Object.entries(BUILDERS))
    it(`${builder}: a bad range is one INVALID_ARGUMENT line naming the value`, () => {
      for (const [why, range, message] of bad) {
        let thrown: unknown;
        try {
          build(VG, LV, range);
        } catch (error) {
          thrown = error;
        }
        expect(LvmError.hasCode(thrown, 'INVALID_ARGUMENT'), why).toBe(true);
        const text = (thrown as LvmError).message;
        expect(text, why).toMatch(message);
        expect(text, why).toMatch(new RegExp(`^wipe ${VG}/${LV}: `));
        expect(text, why).not.toContain('\n');
      }
    });
});

describe('Lvm.wipe', () => {
  it('helper back-end: one helper wipe, data timeout, no report and no expect', async () => {
    const { runner, lvm } = setup({ backend: 'helper' });
    runner.on((argv) => argv.includes('wipe'), { exitCode: 0 });
    expect(await lvm.wipe(VG, LV)).toEqual({ by: 'helper' });
    expect(runner.argvs).toEqual([[...HELPER_PREFIX, 'wipe', VG, LV]]);
    expect(runner.calls[0]?.options.timeoutMs).toBe(DATA_TIMEOUT_MS);
  });

  it('a range is checked against the LV as read: one lvs when unknown, none once read', async () => {
    const { runner, lvm } = setup({ backend: 'helper' });
    runner.on(lvmCommand('report', undefined, { prefix: HELPER_PREFIX }), { stdout: lvsJson(16 * MiB) });
    runner.on((argv) => argv.includes('wipe'), { exitCode: 0 });
    await lvm.wipe(VG, LV, { offsetBytes: 8 * MiB, lengthBytes: 8 * MiB });
    await lvm.wipe(VG, LV, { offsetBytes: 0, lengthBytes: 8 * MiB });
    expect(runner.argvs).toEqual([
      [...HELPER_PREFIX, 'report', 'lvs', VG, LV],
      [...HELPER_PREFIX, 'wipe', VG, LV, String(8 * MiB), String(8 * MiB)],
      [...HELPER_PREFIX, 'wipe', VG, LV, '0', String(8 * MiB)],
    ]);
  });

  it('beyond the LV, negative, unaligned, huge: INVALID_ARGUMENT and nothing run (both back-ends)', async () => {
    for (const backend of ['helper', 'lvm'] as const) {
      const { runner, lvm } = setup({ backend });
      runner.on(() => true, { stdout: lvsJson(16 * MiB) });
      await lvm.getLv(VG, LV);
      const before = runner.calls.length;
      const ranges: WipeRange[] = [
        { offsetBytes: 8 * MiB, lengthBytes: 8 * MiB + 512 },
        { offsetBytes: -512, lengthBytes: 512 },
        { offsetBytes: 512, lengthBytes: 511 },
        { offsetBytes: 0, lengthBytes: 2 ** 53 },
      ];
      for (const range of ranges) {
        const error = await failure(lvm.wipe(VG, LV, range));
        expect(error.code, backend).toBe('INVALID_ARGUMENT');
        expect(error.argv).toEqual([]);
      }
      const beyond = await failure(lvm.wipe(VG, LV, ranges[0]));
      expect(beyond.message).toBe(
        `wipe ${VG}/${LV}: range ends at ${16 * MiB + 512} bytes, beyond the LV (${16 * MiB} bytes)`,
      );
      expect(runner.calls.length, backend).toBe(before);
    }
  });

  it('an empty range runs nothing', async () => {
    const { runner, lvm } = setup({ backend: 'helper' });
    expect(await lvm.wipe(VG, LV, { offsetBytes: 4096, lengthBytes: 0 })).toEqual({ by: 'nothing' });
    expect(runner.calls).toHaveLength(0);
  });

  it('plain LVM: blkdiscard on the data runner, not the LVM runner', async () => {
    const data = new FakeRunner({ host: 'node1' });
    const { runner, lvm } = setup({ dataRunner: data });
    data.on((argv) => argv[0] === 'blkdiscard', { exitCode: 0 });
    expect(await lvm.wipe(VG, LV)).toEqual({ by: 'blkdiscard' });
    expect(data.argvs).toEqual([blkdiscardWipeArgv(VG, LV)]);
    expect(data.calls[0]?.options.timeoutMs).toBe(DATA_TIMEOUT_MS);
    expect(runner.calls).toHaveLength(0);
  });

  it('plain LVM: blkdiscard refused → dd; without a range its "No space left" is the end', async () => {
    const { runner, lvm } = setup();
    runner.on((argv) => argv[0] === 'blkdiscard', {
      exitCode: 1,
      stderr: 'blkdiscard: BLKZEROOUT ioctl failed: Operation not supported\n',
    });
    runner.on((argv) => argv[0] === 'dd', {
      exitCode: 1,
      stderr: `dd: error writing '${DEV}': No space left on device\n`,
    });
    expect(await lvm.wipe(VG, LV)).toEqual({
      by: 'dd',
      blkdiscardError: 'blkdiscard: BLKZEROOUT ioctl failed: Operation not supported',
    });
    expect(runner.argvs).toEqual([blkdiscardWipeArgv(VG, LV), ddWipeArgv(VG, LV)]);
  });

  it('plain LVM: dd failing over a range is an EXEC LvmError with its exit code and stderr', async () => {
    const { runner, lvm } = setup();
    runner.on(lvmCommand('lvs'), { stdout: lvsJson(16 * MiB) });
    runner.on((argv) => argv[0] === 'blkdiscard', { exitCode: 1, stderr: 'not supported\n' });
    runner.on((argv) => argv[0] === 'dd', {
      exitCode: 1,
      stderr: `dd: error writing '${DEV}': No space left on device\n`,
    });
    const error = await failure(lvm.wipe(VG, LV, { offsetBytes: 0, lengthBytes: MiB }));
    expect(error.code).toBe('EXEC');
    expect(error.exitCode).toBe(1);
    expect(error.argv).toEqual(ddWipeArgv(VG, LV, { offsetBytes: 0, lengthBytes: MiB }));
    expect(error.message).toBe(
      `wipe ${VG}/${LV} on node1: dd: error writing '${DEV}': No space left on device`,
    );
  });

  it("helper refusal (exit 64) is INVALID_ARGUMENT with the helper's line", async () => {
    const { runner, lvm } = setup({ backend: 'helper' });
    runner.on((argv) => argv.includes('wipe'), {
      exitCode: 64,
      stderr: `one-gfs2clvm-helper: wipe: ${VG}/${LV} is not active on this host\n`,
    });
    const error = await failure(lvm.wipe(VG, LV));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.exitCode).toBe(64);
    expect(error.message).toBe(
      `wipe ${VG}/${LV} on node1: one-gfs2clvm-helper: wipe: ${VG}/${LV} is not active on this host`,
    );
  });

  it("a runner that throws: LvmError with the runner's error as cause", async () => {
    const { runner, lvm } = setup({ backend: 'helper' });
    runner.on(() => true, new RemoteError('TIMEOUT', 'node1: timed out'));
    const error = await failure(lvm.wipe(VG, LV));
    expect(error.code).toBe('TIMEOUT');
    expect(RemoteError.isInstance(error.cause)).toBe(true);
    expect(error.exitCode).toBeNull();
  });
});
