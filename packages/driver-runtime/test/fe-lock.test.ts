import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { frontEndLock } from '../src/fe-lock.js';
import { DriverError } from '../src/index.js';

// The front-end lock of lock-mode `none` VGs, with the real flock(1) of util-linux.

describe('frontEndLock', () => {
  it('serialises changes of one VG, lets other VGs run, and releases on failure', async () => {
    const lock = frontEndLock(mkdtempSync(join(tmpdir(), 'fe-lock-')), 10);
    const events: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const first = lock('vg-a', async () => {
      events.push('first in');
      await held;
      events.push('first out');
    });
    await new Promise((r) => setTimeout(r, 200));
    const second = lock('vg-a', async () => {
      events.push('second in');
    });
    const other = lock('vg-b', async () => {
      events.push('other vg');
    });
    await other;
    await new Promise((r) => setTimeout(r, 200));
    expect(events).toEqual(['first in', 'other vg']);
    release();
    await first;
    await second;
    expect(events).toEqual(['first in', 'other vg', 'first out', 'second in']);
    await expect(lock('vg-a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock('vg-a', async () => 'again')).resolves.toBe('again');
  });

  it('gives up after the timeout with LOCK_TIMEOUT while another process holds the lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fe-lock-'));
    const holder = spawn('flock', ['-x', join(dir, 'gfs2clvm-vg-c.lock'), 'sleep', '5'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const error = await frontEndLock(dir, 1)('vg-c', async () => 'never').catch((e: unknown) => e);
      expect(DriverError.hasCode(error, 'LOCK_TIMEOUT')).toBe(true);
      expect((error as Error).message).toMatch(/^VG vg-c: front-end lock .* not free after 1 s/);
    } finally {
      holder.kill();
    }
  });
});
