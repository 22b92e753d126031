import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRunner, RemoteError } from '@one-gfs2clvm/ssh-remote';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { assertOnGfs2, detectWithdrawn } from '../src/gfs2-check.js';
import { fakeGfs2Host, refusal } from './helpers.js';

describe('assertOnGfs2 on this machine (real stat/findmnt, no GFS2 here)', () => {
  const runner = new LocalRunner();
  const dir = mkdtempSync(join(tmpdir(), 'gfs2-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a directory on the root file system, naming its type', async () => {
    const error = await refusal(assertOnGfs2(runner, dir));
    expect(error.code).toBe('NOT_GFS2');
    expect(error.message).toMatch(new RegExp(`^not GFS2: ${dir} on local is on \\S+`));
  });

  it('calls a missing directory what it most likely is: GFS2 not mounted', async () => {
    const error = await refusal(assertOnGfs2(runner, join(dir, 'datastores', '0')));
    expect(error.code).toBe('NOT_GFS2');
    expect(error.message).toBe(`GFS2 not mounted? ${dir}/datastores/0 missing on local`);
  });

  it('reports no withdraw state for a mount that is not GFS2', async () => {
    const state = await detectWithdrawn(runner, dir);
    expect(state.withdrawn).toBeUndefined();
    expect(state.mount.fstype).not.toBe('gfs2');
  });
});

describe('assertOnGfs2 decisions', () => {
  it('accepts a healthy writable GFS2 and says which one', async () => {
    await expect(assertOnGfs2(fakeGfs2Host(), '/var/lib/one//datastores/100/')).resolves.toEqual({
      host: 'node1',
      path: '/var/lib/one/datastores/100',
      mount: {
        target: '/var/lib/one/datastores',
        source: '/dev/mapper/vg--one--100-gfs2',
        fstype: 'gfs2',
        options: ['rw', 'relatime'],
        majMin: '253:4',
      },
      lockTable: 'one:ds',
      readOnly: false,
    });
  });

  it('refuses a withdrawn GFS2', async () => {
    const error = await refusal(assertOnGfs2(fakeGfs2Host({ withdraw: '1' }), '/var/lib/one/datastores/100'));
    expect(error.code).toBe('WITHDRAWN');
    expect(error.message).toBe('GFS2 withdrawn: /var/lib/one/datastores on node1 (lock table one:ds)');
  });

  it('takes an I/O error on statfs as a sign of withdrawal', async () => {
    const host = fakeGfs2Host({
      statfs: {
        exitCode: 1,
        stderr:
          "stat: cannot read file system information for '/var/lib/one/datastores/100': Input/output error\n",
      },
    });
    const error = await refusal(assertOnGfs2(host, '/var/lib/one/datastores/100'));
    expect(error.code).toBe('WITHDRAWN');
    expect(error.message).toBe('GFS2 I/O error on /var/lib/one/datastores/100 on node1 (withdrawn?)');
    // With sysfs saying so, the message names the cause.
    const withdrawn = fakeGfs2Host({
      withdraw: '1',
      statfs: { exitCode: 1, stderr: 'stat: …: Input/output error' },
    });
    const named = await refusal(assertOnGfs2(withdrawn, '/var/lib/one/datastores/100'));
    expect(named.message).toBe('GFS2 withdrawn: /var/lib/one/datastores on node1 (lock table one:ds)');
  });

  it('refuses a read-only mount unless only reading', async () => {
    const host = fakeGfs2Host({ mountOptions: 'ro,relatime' });
    expect((await refusal(assertOnGfs2(host, '/var/lib/one/datastores/100'))).code).toBe('READ_ONLY');
    await expect(
      assertOnGfs2(host, '/var/lib/one/datastores/100', { writable: false }),
    ).resolves.toMatchObject({
      readOnly: true,
    });
  });

  it('refuses when the statfs type is GFS2 but the mount table is not', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on((argv) => argv[0] === 'stat', { stdout: 'gfs/gfs2\n' });
    fake.on((argv) => argv[0] === 'findmnt', {
      stdout:
        '{"filesystems":[{"target":"/","source":"overlay","fstype":"overlay","options":"rw","maj:min":"0:30"}]}',
    });
    const error = await refusal(assertOnGfs2(fake, '/var/lib/one/datastores/100'));
    expect(error.code).toBe('NOT_GFS2');
    expect(error.message).toBe('not GFS2: mount table of node1 has overlay at /');
  });

  it('says so when GFS2 does not answer in time (a cluster without quorum blocks)', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on(
      (argv) => argv[0] === 'stat',
      new RemoteError('TIMEOUT', 'node1: stat timed out', { timedOut: true }),
    );
    const error = await refusal(assertOnGfs2(fake, '/var/lib/one/datastores/100', { timeoutMs: 5 }));
    expect(error.code).toBe('EXEC');
    expect(error.message).toBe('GFS2 not answering: stat -f /var/lib/one/datastores/100 on node1 timed out');
    expect(fake.calls[0]?.options.timeoutMs).toBe(5);
  });

  it('turns a lost connection into a retryable EXEC', async () => {
    const fake = new FakeRunner({ host: 'node1' }).failNext(1, 'CONNECTION_LOST');
    const error = await refusal(assertOnGfs2(fake, '/var/lib/one/datastores/100'));
    expect(error.code).toBe('EXEC');
    expect(error.isRetryable).toBe(true);
    expect(error.message).toMatch(/^stat on node1: /);
  });

  it('refuses a hostile path before running anything', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    expect((await refusal(assertOnGfs2(fake, '-rf'))).code).toBe('INVALID_PATH');
    expect((await refusal(assertOnGfs2(fake, '/a/../etc'))).code).toBe('INVALID_PATH');
    expect(fake.calls).toHaveLength(0);
  });
});

describe('detectWithdrawn', () => {
  it("falls back to the whole mount table when the path cannot be stat'ed (EIO)", async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on(['findmnt', '-J', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN', '-T', '/ds/100'], {
      exitCode: 1,
      stderr: '',
    });
    fake.on(['findmnt', '-J', '-l', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN'], {
      stdout: JSON.stringify({
        filesystems: [
          { target: '/', source: 'overlay', fstype: 'overlay', options: 'rw', 'maj:min': '0:30' },
          { target: '/ds', source: '/dev/dm-4', fstype: 'gfs2', options: 'rw', 'maj:min': '253:4' },
        ],
      }),
    });
    fake.on((argv) => argv[0] === 'grep', {
      stdout: '/sys/fs/gfs2/dm-4/id:253:4\n/sys/fs/gfs2/dm-4/withdraw:1\n',
    });
    await expect(detectWithdrawn(fake, '/ds/100')).resolves.toMatchObject({
      withdrawn: true,
      lockTable: 'dm-4',
    });
  });

  it('reads the withdraw flag of the GFS2 holding the path, without touching the file system', async () => {
    const host = fakeGfs2Host({ withdraw: '1' });
    const state = await detectWithdrawn(host, '/var/lib/one/datastores/100/7');
    expect(state).toMatchObject({ withdrawn: true, lockTable: 'one:ds' });
    expect(host.argvs.map((argv) => argv[0])).toEqual(['findmnt', 'grep']);
  });
});
