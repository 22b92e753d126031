import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { copyArgv, WRITE_ZEROES_SCRIPT } from '../src/lv-ops.js';

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
    expect(copyArgv(from, to, '4M', { targetIsZero: false })).not.toContain('conv=notrunc,sparse,fsync');
  });

  it('skips zero blocks (conv=sparse) only with targetIsZero', () => {
    const argv = copyArgv(from, to, '8M', { targetIsZero: true });
    expect(argv).toContain('conv=notrunc,sparse,fsync');
    expect(argv).toContain('bs=8M');
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
