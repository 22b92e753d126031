import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHelperScript } from '../src/assets.js';
import { main } from '../src/cli.js';
import { checkGfs2, checkHelperVersion, checkQemuConf } from '../src/doctor/host.js';
import { lvCapacity, metadataSizeMiB } from '../src/doctor/metadata.js';
import { type Exec, localExec } from '../src/exec.js';
import { LocalTarget } from '../src/target.js';
import { vgCreateArgv } from '../src/vg-create.js';

async function cli(args: string[], exec?: Exec) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'one-gfs2clvm', ...args], {
    exec: exec ?? (async () => ({ exitCode: 0, stdout: '', stderr: '' })),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out: out.join(''), err };
}

describe('the command line', () => {
  it('--help lists the commands and exits 0', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['install', 'uninstall', 'doctor', 'vg-create'])
      expect(result.out).toContain(command);
  });

  it('install --help documents --role, --root and --dry-run', async () => {
    const result = await cli(['install', '--help']);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/--role <role>.*\(choices: "host", "frontend"\)/s);
    expect(result.out).toContain('--root <dir>');
    expect(result.out).toContain('--dry-run');
  });

  it.each([
    [['install']],
    [['install', '--role', 'hypervisor']],
    [['frobnicate']],
    [['install', '--role', 'host', '--bogus']],
    [['doctor', '--expected-lvs', '-5']],
    [['vg-create', 'vg-one-1', '/dev/sdb']],
  ])('%j is a usage error: exit 2, one line', async (args) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.err[0]).toMatch(/^error: /);
  });

  it('refuses a --root that does not exist', async () => {
    const result = await cli(['install', '--role', 'host', '--root', '/nonexistent/one-gfs2clvm']);
    expect(result).toMatchObject({
      code: 2,
      err: ['one-gfs2clvm: --root /nonexistent/one-gfs2clvm does not exist'],
    });
  });
});

describe('vg-create', () => {
  it('builds a shared VG with a metadata area for the expected LV count', () => {
    expect(
      vgCreateArgv({
        vg: 'vg-one-100',
        devices: ['/dev/mapper/mpatha'],
        expectedLvs: 10_000,
        lockType: 'sanlock',
      }),
    ).toEqual([
      'vgcreate',
      '--shared',
      '--lock-type',
      'sanlock',
      '--metadatasize',
      '7m',
      '--setautoactivation',
      'n',
      '--',
      'vg-one-100',
      '/dev/mapper/mpatha',
    ]);
    expect(
      vgCreateArgv({ vg: 'vg-one-1', devices: ['/dev/vdb'], expectedLvs: 100, lockType: 'none' }).slice(0, 3),
    ).toEqual(['vgcreate', '--metadatasize', '1m']);
  });

  it('sizes metadata from the 1,800-LVs-per-MiB observation', () => {
    expect(lvCapacity(1024 * 1024)).toBe(1798);
    expect(metadataSizeMiB(1800)).toBe(2);
    expect(lvCapacity(metadataSizeMiB(50_000) * 1024 * 1024)).toBeGreaterThanOrEqual(50_000);
  });

  it.each([
    ['-vg', ['/dev/sdb']],
    ['vg;reboot', ['/dev/sdb']],
    ['..', ['/dev/sdb']],
    ['vg-one-1', ['sdb']],
    ['vg-one-1', ['/dev/../etc/passwd']],
    ['vg-one-1', ['/dev/sdb --config x']],
    ['vg-one-1', []],
  ])('refuses VG %j on %j', (vg, devices) => {
    expect(() => vgCreateArgv({ vg, devices, expectedLvs: 10, lockType: 'sanlock' })).toThrow(
      /^invalid|needs at least/,
    );
  });

  it('--dry-run prints the command and runs nothing', async () => {
    const ran: string[][] = [];
    const result = await cli(
      ['vg-create', 'vg-one-1', '/dev/vdb', '--expected-lvs', '3000', '--dry-run'],
      async (argv) => {
        ran.push([...argv]);
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    );
    expect(result.code).toBe(0);
    expect(result.out).toContain('would run: vgcreate --shared --lock-type sanlock --metadatasize 3m');
    expect(ran).toEqual([]);
  });

  it('reports a failed vgcreate in one line', async () => {
    const result = await cli(['vg-create', 'vg-one-1', '/dev/vdb', '--expected-lvs', '10'], async () => ({
      exitCode: 5,
      stdout: '',
      stderr: '  Global lock failed: check that global lockspace is started\n  more\n',
    }));
    expect(result.code).toBe(1);
    expect(result.err).toEqual([
      'one-gfs2clvm: vgcreate failed (exit 5): Global lock failed: check that global lockspace is started',
    ]);
  });
});

describe('doctor checks that read files', () => {
  const local = new LocalTarget('/', localExec);
  const dir = mkdtempSync(join(tmpdir(), 'one-gfs2clvm-doctor-'));

  it('finds GFS2 at the datastore location, or says what is there instead', async () => {
    const mounts = join(dir, 'mounts');
    writeFileSync(
      mounts,
      '/dev/vda1 / ext4 rw 0 0\n/dev/mapper/vg--one--100-lv--gfs2 /var/lib/one/datastores gfs2 rw 0 0\n',
    );
    expect(await checkGfs2(local, '/var/lib/one/datastores', mounts)).toMatchObject({ status: 'OK' });
    writeFileSync(mounts, '/dev/vda1 / ext4 rw 0 0\ntmpfs /var/lib/one/datastores tmpfs rw 0 0\n');
    expect(await checkGfs2(local, '/var/lib/one/datastores', mounts)).toMatchObject({
      status: 'FAIL',
      detail: '/var/lib/one/datastores is tmpfs, not gfs2',
    });
    writeFileSync(mounts, '/dev/vda1 / ext4 rw 0 0\n');
    expect(await checkGfs2(local, '/var/lib/one/datastores', mounts)).toMatchObject({ status: 'FAIL' });
  });

  it('says whether the installed helper is the one this installer carries', async () => {
    const helper = join(dir, 'one-gfs2clvm-helper');
    writeFileSync(helper, await readHelperScript());
    expect(await checkHelperVersion(local, helper)).toMatchObject({ status: 'OK' });
    // An older helper: same verbs but not `activate … <tag> <tag>`.
    const older = (await readHelperScript()).replace('argc activate 3 5', 'argc activate 3 4');
    expect(older).not.toBe(await readHelperScript());
    writeFileSync(helper, older);
    expect(await checkHelperVersion(local, helper)).toMatchObject({
      status: 'FAIL',
      fix: 'run: one-gfs2clvm install --role host',
    });
    rmSync(helper);
    expect(await checkHelperVersion(local, helper)).toMatchObject({
      status: 'FAIL',
      detail: `${helper} is missing`,
    });
  });

  it('checks the three qemu.conf keys', async () => {
    const conf = join(dir, 'qemu.conf');
    writeFileSync(conf, 'user = "oneadmin"\ngroup = "oneadmin"\ndynamic_ownership = 0\n');
    expect(await checkQemuConf(local, 'oneadmin', conf)).toMatchObject({ status: 'OK' });
    writeFileSync(conf, 'user = "oneadmin"\n#group = "root"\ndynamic_ownership = 1\n');
    expect(await checkQemuConf(local, 'oneadmin', conf)).toMatchObject({
      status: 'FAIL',
      detail: 'group is unset, wants "oneadmin"; dynamic_ownership is 1, wants 0',
    });
    rmSync(dir, { recursive: true, force: true });
  });
});
