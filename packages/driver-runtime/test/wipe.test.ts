import { PassThrough } from 'node:stream';
import { HELPER_PREFIX } from '@one-gfs2clvm/lvm';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { describe, expect, it } from 'vitest';
import type { ActionContext } from '../src/context.js';
import { DATA_PATH, HostPool } from '../src/hosts.js';
import { DEFAULTS, type DriverConfig, DriverError, Log } from '../src/index.js';
import { wipe } from '../src/lv-ops.js';

// The driver's wipe goes through Lvm.wipe (both back-ends live in the lvm library) and says what it
// always said: the timed INFO line, the dd fall-back's INFO line, one `… failed on <host> (exit N)`.

const ref = { vg: 'vg-one-100', lv: 'lv-one-7-0' };

function setup(config: Partial<DriverConfig>) {
  const node1 = new FakeRunner({ host: 'node1' });
  const out = new PassThrough();
  let text = '';
  out.on('data', (c) => (text += c));
  const hosts = new HostPool({ ...structuredClone(DEFAULTS), ...config }, () => node1);
  const ctx = { log: new Log(out, 'clone') } as unknown as ActionContext;
  return { node1, host: hosts.get('node1'), ctx, lines: () => text.split('\n').filter(Boolean) };
}

describe('wipe', () => {
  it('helper: the helper wipe; its failure is the one line it always was', async () => {
    const { node1, host, ctx } = setup({ lvmBackend: 'helper' });
    node1.on((argv) => argv.includes('wipe'), { exitCode: 1, stderr: 'first\nblkdiscard: gone\n' });
    const error = await wipe(ctx, host, ref).catch((e: unknown) => e);
    expect(DriverError.hasCode(error, 'EXEC')).toBe(true);
    expect((error as DriverError).message).toBe(
      'wipe vg-one-100/lv-one-7-0 failed on node1 (exit 1): blkdiscard: gone',
    );
    expect(node1.argvs).toEqual([[...HELPER_PREFIX, 'wipe', ref.vg, ref.lv]]);
  });

  it('plain LVM: blkdiscard and dd on the data path (PATH), the fall-back logged before the timing', async () => {
    const { node1, host, ctx, lines } = setup({ lvmBackend: 'lvm', lvmPrefix: ['lvm'] });
    node1.on((argv) => argv.includes('blkdiscard'), { exitCode: 1, stderr: 'not supported\n' });
    node1.on((argv) => argv.includes('dd'), { exitCode: 0 });
    await wipe(ctx, host, ref);
    expect(node1.argvs.map((argv) => argv.slice(0, DATA_PATH.length + 1))).toEqual([
      [...DATA_PATH, 'blkdiscard'],
      [...DATA_PATH, 'dd'],
    ]);
    expect(lines()[0]).toBe(
      'INFO: clone: blkdiscard --zeroout on node1 failed (not supported); zeroing with dd',
    );
    expect(lines()[1]).toMatch(/^INFO: clone: wipe vg-one-100\/lv-one-7-0 took \d+\.\d s$/);
  });

  it('an empty range runs nothing and logs nothing', async () => {
    const { node1, host, ctx, lines } = setup({ lvmBackend: 'helper' });
    await wipe(ctx, host, ref, { offsetBytes: 4096, lengthBytes: 0 });
    expect(node1.calls).toHaveLength(0);
    expect(lines()).toEqual([]);
  });
});
