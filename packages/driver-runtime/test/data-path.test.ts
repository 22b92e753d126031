import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { copyArgv, rangeCopyArgv, WRITE_ZEROES_SCRIPT } from '../src/lv-ops.js';

const run = promisify(execFile);
const from = { vg: 'vg-one-100', lv: 'lv-oneimg-5' };
const to = { vg: 'vg-one-100', lv: 'lv-one-7-0' };

describe('copyArgv', () => {
  it('copies every block with direct I/O unless the target is known to read as zeros', () => {
    expect(copyArgv(from, to, '4M')).toEqual([
      'dd',
      'if=/dev/vg-one-100/lv-oneimg-5',
      'of=/dev/vg-one-100/lv-one-7-0',
      'bs=4M',
      'iflag=direct',
      'oflag=direct',
      'conv=notrunc,fsync',
      'status=none',
    ]);
    expect(copyArgv(from, to, '4M', {})).toEqual(copyArgv(from, to, '4M'));
  });

  it('skips zero blocks (conv=sparse) only onto a target that reads as zeros, as each copy always ran', () => {
    const wiped = copyArgv(from, to, '8M', { zeroTarget: 'wiped' });
    expect(wiped).toContain('conv=notrunc,sparse,fsync');
    expect(wiped).toContain('bs=8M');
    expect(copyArgv(from, to, '4M', { zeroTarget: 'new-thin' })).toContain('conv=sparse,notrunc,fsync');
  });
});

describe('WRITE_ZEROES_SCRIPT', () => {
  const probe = async (path: string) =>
    (await run('sh', ['-c', WRITE_ZEROES_SCRIPT, 'sh', path])).stdout.trim();

  it('answers 0 for a device sysfs knows nothing about (no fast path)', async () => {
    expect(await probe('/dev/null')).toBe('0');
    expect(await probe('/nonexistent/dev')).toBe('0');
  });

  it('takes the path as data, never as shell code', async () => {
    expect(await probe('/tmp/$(touch /tmp/one-tm-wz-pwned)`id`;x')).toBe('0');
    await expect(run('test', ['-e', '/tmp/one-tm-wz-pwned'])).rejects.toThrow();
  });
});

describe('RANGE_COPY_SCRIPT (run here on files)', () => {
  const MiB = 2 ** 20;

  it('copies exactly the given byte ranges to the same offsets, nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'one-tm-ranges-'));
    try {
      const src = join(dir, 'src');
      const dst = join(dir, 'dst');
      const data = randomBytes(16 * MiB);
      await writeFile(src, data);
      await writeFile(dst, Buffer.alloc(16 * MiB));
      const ranges: Array<[number, number]> = [
        [4 * MiB, 4 * MiB],
        [12 * MiB, 2 * MiB],
      ];
      const argv = rangeCopyArgv(from, to, '1M', ranges);
      // The script gets the device paths as arguments: run it on the two files instead.
      const [, , script, name] = argv;
      await run('sh', ['-c', script as string, name as string, src, dst, '1M', ...argv.slice(7)]);
      const out = await readFile(dst);
      const expected = Buffer.alloc(16 * MiB);
      for (const [offset, length] of ranges) data.copy(expected, offset, offset, offset + length);
      expect(out.equals(expected)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops at the first failing dd with its exit status', async () => {
    const argv = rangeCopyArgv(from, to, '1M', [[0, MiB]]);
    await expect(
      run('sh', ['-c', argv[2] as string, 'x', '/nonexistent', '/dev/null', '1M', '0', '1']),
    ).rejects.toThrow(/nonexistent/);
  });

  it('takes device paths and offsets as arguments, never as shell code', () => {
    const argv = rangeCopyArgv(from, to, '4M', [[0, 8 * MiB]]);
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv.slice(3)).toEqual([
      'copy-ranges',
      '/dev/vg-one-100/lv-oneimg-5',
      '/dev/vg-one-100/lv-one-7-0',
      '4M',
      '0',
      String(8 * MiB),
    ]);
    expect(argv[2]).not.toMatch(/lv-one/);
  });
});
