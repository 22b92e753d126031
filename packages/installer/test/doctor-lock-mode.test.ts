import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockModeOfVg } from '@one-gfs2clvm/lvm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { frontendDoctor } from '../src/doctor/frontend.js';
import { configuredLockMode, lockModeOfRow } from '../src/doctor/lock-mode.js';
import type { Exec } from '../src/exec.js';
import { LocalTarget } from '../src/target.js';

describe('doctor: LOCK_MODE of the driver config against the VGs (issue 18)', () => {
  it('reads LOCK_MODE as driver-runtime does (quotes, comment lines, default auto)', () => {
    expect(configuredLockMode(null)).toBe('auto');
    expect(configuredLockMode('# LOCK_MODE=none\nSSH_USER=oneadmin\n')).toBe('auto');
    expect(configuredLockMode('LOCK_MODE="lvmlockd"\n')).toBe('lvmlockd');
    expect(configuredLockMode("LOCK_MODE = 'none'\n")).toBe('none');
  });

  it.each([
    ['sanlock', 'wz--ns'],
    ['dlm', 'wz--ns'],
    ['', 'wz--n-'],
    ['none', 'wz--n-'],
    ['', 'wz--nc'],
    ['clvm', 'wz--nc'],
  ])('judges lock type %j, attr %s as the lvm library does', (lockType, attr) => {
    const sharing = attr[5] === 's' ? 'shared' : attr[5] === 'c' ? 'clustered' : 'local';
    expect(lockModeOfRow(lockType, attr)).toBe(
      lockModeOfVg({ lockType: lockType === '' ? null : lockType, sharing } as Parameters<
        typeof lockModeOfVg
      >[0]),
    );
  });

  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'one-gfs2clvm-doctor-lock-'));
    mkdirSync(join(root, 'var/lib/one/remotes/etc/tm/gfs2clvm'), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const report = (rows: { vg_name: string; vg_lock_type: string; vg_attr: string }[]) =>
    JSON.stringify({ report: [{ vg: rows }], log: [] });

  async function doctor(config: string, answer: { exitCode: number; stdout: string; stderr: string }) {
    writeFileSync(join(root, 'var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf'), config);
    const ran: string[][] = [];
    const exec: Exec = async (argv) => {
      ran.push([...argv]);
      if (argv.at(-1) === 'true') return { exitCode: 0, stdout: '', stderr: '' };
      if (argv.slice(-2).join(' ') === 'report vgs') return answer;
      return { exitCode: 0, stdout: 'v20.19.2\n', stderr: '' };
    };
    const results = await frontendDoctor({
      target: new LocalTarget(root, exec),
      user: 'oneadmin',
      hosts: ['node1', 'node2'],
    });
    return { results: results.filter((r) => r.name.startsWith('lock mode')), ran };
  }
  const sanlock = {
    exitCode: 0,
    stdout: report([{ vg_name: 'vg-one-100', vg_lock_type: 'sanlock', vg_attr: 'wz--ns' }]),
    stderr: '',
  };

  it('a configured mode the VG does not have is a FAIL line saying what to set', async () => {
    const { results, ran } = await doctor('SSH_USER=oneadmin\nLOCK_MODE=none\n', sanlock);
    expect(results).toEqual([
      {
        status: 'FAIL',
        name: 'lock mode vg-one-100',
        detail:
          'LOCK_MODE=none in /var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf, but the VG is lvmlockd (sanlock) as node1 sees it: the drivers refuse every change of it (LOCK_MODE_MISMATCH)',
        fix: "set LOCK_MODE=auto (the host helper checks each VG's mode at no extra command) or LOCK_MODE=lvmlockd",
      },
    ]);
    // Asked once, on the first host, as the drivers ask: the helper through sudo over the driver's SSH.
    const asked = ran.filter((argv) => argv.at(-1) === 'vgs');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.slice(-8)).toEqual(
      ['oneadmin', '--', 'node1', 'sudo', '-n', '/usr/local/sbin/one-gfs2clvm-helper', 'report', 'vgs'].slice(
        -8,
      ),
    );
  });

  it('the same mode is OK; auto names what each VG is', async () => {
    expect((await doctor('LOCK_MODE=lvmlockd\n', sanlock)).results.map((r) => r.status)).toEqual(['OK']);
    const auto = (await doctor('SSH_USER=oneadmin\n', sanlock)).results;
    expect(auto).toHaveLength(1);
    expect(auto[0]?.status).toBe('OK');
    expect(auto[0]?.detail).toMatch(/^LOCK_MODE=auto: vg-one-100 lvmlockd \(sanlock\) as node1 sees them;/);
  });

  it('a plain VG with LOCK_MODE=lvmlockd fails too (its changes would skip the front-end lock)', async () => {
    const plain = {
      exitCode: 0,
      stdout: report([{ vg_name: 'vg-one-101', vg_lock_type: '', vg_attr: 'wz--n-' }]),
      stderr: '',
    };
    const { results } = await doctor('LOCK_MODE=lvmlockd\n', plain);
    expect(results.map((r) => [r.status, r.name])).toEqual([['FAIL', 'lock mode vg-one-101']]);
    expect(results[0]?.fix).toMatch(/LOCK_MODE=none$/);
  });

  it('a host where the helper cannot list the VGs is a WARN, not a FAIL', async () => {
    const { results } = await doctor('LOCK_MODE=lvmlockd\n', {
      exitCode: 1,
      stdout: '',
      stderr: 'sudo: a password is required\n',
    });
    expect(results.map((r) => [r.status, r.detail])).toEqual([
      [
        'WARN',
        'LOCK_MODE=lvmlockd; the driver VGs could not be listed on node1: sudo: a password is required',
      ],
    ]);
  });
});
