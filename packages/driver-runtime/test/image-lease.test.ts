import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Lv } from '@one-gfs2clvm/lvm';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config.js';
import { holdFlock } from '../src/fe-lock.js';
import type { Host } from '../src/hosts.js';
import {
  acquireLease,
  leaseFile,
  releaseLease,
  releaseVmImage,
  underLease,
  withLease,
} from '../src/image-lease.js';
import { DriverError } from '../src/index.js';
import { Log } from '../src/log.js';

// The front-end leases of image-lease.ts with the real flock(1) of util-linux on this machine; the
// host's LVM is a recording stand-in (the testbed suite clone-race.testbed.test.ts runs the real one).

const ref = { vg: 'vg-one-100', lv: 'lv-oneimg-7' };

function setUp(lv: Partial<Lv> | null = { active: true, tags: [] }) {
  const lockDir = mkdtempSync(join(tmpdir(), 'image-lease-'));
  const calls: string[] = [];
  const lvm = {
    activateLv: async (_vg: string, _lv: string, mode: string) => void calls.push(`activate ${mode}`),
    findLv: async () => {
      calls.push('lvs');
      return lv;
    },
    deactivateLv: async () => void calls.push('deactivate'),
    removeTag: async (_vg: string, _lv: string, tag: string) => void calls.push(`deltag ${tag}`),
  };
  const host = { name: 'node1', lvm } as unknown as Host;
  const err = new PassThrough();
  let logged = '';
  err.on('data', (c: Buffer) => {
    logged += c.toString();
  });
  const ctx = { config: { ...DEFAULTS, lockDir, lockTimeoutSeconds: 5 }, log: new Log(err, 'clone') };
  return { lockDir, calls, host, ctx, logged: () => logged };
}

/** Resolves once nobody holds `file`'s lock (`flock -n -x` succeeds); fails after 10 s. */
async function lockFreed(file: string): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 10_000; ) {
    if (spawnSync('flock', ['-n', '-x', file, 'true']).status === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${file}: still locked 10 s after its holder was killed`);
}

describe('leaseFile', () => {
  it('names the lease by host, VG and LV, and refuses names a path could use', () => {
    expect(leaseFile('/var/lock/one', 'node1.example.org', ref)).toBe(
      '/var/lock/one/gfs2clvm-use-node1.example.org@vg-one-100@lv-oneimg-7.lock',
    );
    for (const host of ['../etc', 'a/b', '', '-x', 'node1@x'])
      expect(() => leaseFile('/l', host, ref), host).toThrow(/not usable in a lock file name/);
    expect(() => leaseFile('/l', 'node1', { vg: '../vg', lv: 'lv-1' })).toThrow();
    expect(() => leaseFile('/l', 'node1', { vg: 'vg', lv: 'a/b' })).toThrow();
  });
});

describe('image leases', () => {
  it('two holders: only the last release deactivates, and a new user waits for that deactivation', async () => {
    const { calls, host, ctx } = setUp();
    const a = await acquireLease(ctx, host, ref);
    const b = await acquireLease(ctx, host, ref);
    await releaseLease(ctx, host, ref, a);
    expect(calls).toEqual([]); // b still reads it: a's release leaves it alone
    await releaseLease(ctx, host, ref, b);
    expect(calls).toEqual(['lvs', 'deactivate']);

    // While a last user holds the exclusive lock (its deactivation), a new user's shared lock waits.
    const file = leaseFile(ctx.config.lockDir, host.name, ref);
    const last = await holdFlock(file, 'exclusive', 0);
    expect(last).not.toBeNull();
    let got = false;
    const next = acquireLease(ctx, host, ref).then((l) => {
      got = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toBe(false);
    await last?.release();
    await (await next).release();
    expect(got).toBe(true);
  });

  it('withLease activates, runs, releases; the LV of a VM of this host (its host tag) is left alone', async () => {
    const { calls, host, ctx, logged } = setUp({ active: true, tags: ['one_active_node1'] });
    await expect(withLease(ctx, host, ref, 'shared', undefined, async () => 'copied')).resolves.toBe(
      'copied',
    );
    // the tag is seen at the release: no deactivation
    expect(calls).toEqual(['activate shared', 'lvs']);
    expect(logged()).toMatch(/stays active on node1: a VM of the host has it/);

    const pinned = { tags: ['one_active_node1'] } as unknown as Lv;
    calls.length = 0;
    await withLease(ctx, host, ref, 'shared', pinned, async () => undefined);
    expect(calls).toEqual([]); // known tagged: neither activated nor released
  });

  it('withLease releases on failure of the use, and the failure is what is thrown', async () => {
    const { calls, host, ctx } = setUp();
    await expect(
      withLease(ctx, host, ref, 'shared', undefined, async () => Promise.reject(new Error('dd failed'))),
    ).rejects.toThrow('dd failed');
    expect(calls).toEqual(['activate shared', 'lvs', 'deactivate']);
  });

  it('a holder killed with SIGKILL loses its lease: the release is skipped while it lives, done after', async () => {
    const { calls, host, ctx } = setUp();
    const file = leaseFile(ctx.config.lockDir, host.name, ref);
    // Another action process holding the same lease through the built package's holdFlock.
    const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { holdFlock } from '@one-gfs2clvm/driver-runtime'; await holdFlock(${JSON.stringify(file)}, 'shared', 5); console.log('held'); setInterval(() => {}, 1000);`,
      ],
      { cwd: pkg, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
      });
      const mine = await acquireLease(ctx, host, ref);
      await releaseLease(ctx, host, ref, mine);
      expect(calls).toEqual([]); // the other holder reads it

      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      // Its flock child ends with it (its stdin pipe closed), a moment later on a loaded machine.
      await lockFreed(file);
      const again = await acquireLease(ctx, host, ref);
      await releaseLease(ctx, host, ref, again);
      expect(calls).toEqual(['lvs', 'deactivate']);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a VM release (delete) while copies read the image drops only the host tag', async () => {
    const { calls, host, ctx } = setUp();
    const copy = await acquireLease(ctx, host, ref);
    await releaseVmImage(ctx, host, ref);
    expect(calls).toEqual(['deltag one_active_node1']);
    await releaseLease(ctx, host, ref, copy);
    expect(calls).toEqual(['deltag one_active_node1', 'lvs', 'deactivate']);
  });

  it('underLease: a VM activation waits for a last user deactivating, and releases nothing', async () => {
    const { calls, host, ctx } = setUp();
    const last = await holdFlock(leaseFile(ctx.config.lockDir, host.name, ref), 'exclusive', 0);
    const activated = underLease(ctx, host, ref, async () => {
      calls.push('activate exclusive');
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toEqual([]);
    await last?.release();
    await activated;
    expect(calls).toEqual(['activate exclusive']);
  });

  it('a shared lease not free in time is LOCK_TIMEOUT with one line naming the LV and host', async () => {
    const { host, ctx } = setUp();
    const blocker = await holdFlock(leaseFile(ctx.config.lockDir, host.name, ref), 'exclusive', 0);
    try {
      const error = await acquireLease(
        { ...ctx, config: { ...ctx.config, lockTimeoutSeconds: 1 } },
        host,
        ref,
      ).catch((e: unknown) => e);
      expect(DriverError.hasCode(error, 'LOCK_TIMEOUT')).toBe(true);
      expect((error as Error).message).toMatch(
        /^vg-one-100\/lv-oneimg-7 on node1: front-end lease .* not free after 1 s$/,
      );
    } finally {
      await blocker?.release();
    }
  });
});
