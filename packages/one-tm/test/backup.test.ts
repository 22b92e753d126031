import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULTS, DriverError, MAX_PAYLOAD_BYTES } from '@one-gfs2clvm/driver-runtime';
import {
  capture,
  type FakeLv,
  fakeHost,
  findRule,
  noOned,
  type Rule,
} from '@one-gfs2clvm/driver-runtime/testing';
import type { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { describe, expect, it } from 'vitest';
import {
  backupBasePath,
  backupConvertArgv,
  PREPARE_SCRIPT,
  parseBackupArgs,
  parseBackupVm,
  parseDiskIds,
  parseStatFs,
  qcow2MaxBytes,
  refuseBackupBasePath,
  spaceShortage,
} from '../src/actions/backup.js';
import { runAction } from '../src/index.js';

// prebackup / postbackup without a cluster: argv and stdin checks, the command builders, the
// free-space arithmetic, and the command sequence against fake hosts (real GFS2 and LVM:
// backup.testbed.test.ts).

const MiB = 2 ** 20;
const DL = '/var/lib/one/datastores';
const DIR = `${DL}/100/7`;
const GOOD = [`node1:/var/lib/one//datastores/100/7`, '0:1', 'one-7', '-', '7', '100'];
const VM = '<VM><ID>7</ID><LCM_STATE>70</LCM_STATE><TEMPLATE></TEMPLATE></VM>';
const withVmConfig = (config: string, extra = '') =>
  `<VM><ID>7</ID><TEMPLATE></TEMPLATE><BACKUPS><BACKUP_CONFIG>${config}</BACKUP_CONFIG></BACKUPS>${extra}</VM>`;

const argvWith = (index: number, value: string) => GOOD.map((w, i) => (i === index ? value : w));
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return DriverError.isInstance(error) ? `${error.code}: ${error.message}` : String(error);
  }
  return 'accepted';
};

describe('backup argv', () => {
  it('reads what oned sends', () => {
    const args = parseBackupArgs('prebackup', GOOD, DL);
    expect(args).toMatchObject({ diskIds: [0, 1], deployId: 'one-7', jobId: undefined, vmId: 7 });
    expect(args.location).toMatchObject({ host: 'node1', vmDir: DIR, dsId: 100 });
    expect(parseBackupArgs('prebackup', argvWith(3, '12'), DL).jobId).toBe(12);
  });

  it.each([
    ['no arguments', [], /^USAGE: prebackup: expected 6 arguments, got 0/],
    ['too many', [...GOOD, 'x'], /^USAGE: .*got 7/],
    ['too few', GOOD.slice(0, 5), /^USAGE: .*got 5/],
    [
      '.. in the path',
      argvWith(0, 'node1:/var/lib/one/datastores/100/7/../../x'),
      /^INVALID_ARGUMENT: .*"\.\."/,
    ],
    [
      'a disk path, not the VM dir',
      argvWith(0, `node1:${DIR}/disk.0`),
      /^INVALID_ARGUMENT: .* not a VM directory/,
    ],
    ['a leading - host', argvWith(0, `-oProxyCommand=x:${DIR}`), /^INVALID_ARGUMENT: host name/],
    ['; in the path', argvWith(0, `node1:${DIR};reboot`), /^INVALID_ARGUMENT/],
    ['disk ids 1:x', argvWith(1, '1:x'), /^INVALID_ARGUMENT: disk id "x"/],
    ['a huge disk id', argvWith(1, '0:99999999999'), /^INVALID_ARGUMENT: disk id "99999999999"/],
    ['a leading - disk id', argvWith(1, '-1'), /^INVALID_ARGUMENT: disk id "-1"/],
    ['empty disk ids', argvWith(1, ''), /^INVALID_ARGUMENT: disk ids "" are not/],
    ['a trailing :', argvWith(1, '0:'), /^INVALID_ARGUMENT: disk id ""/],
    ['a repeated disk id', argvWith(1, '1:0:1'), /^INVALID_ARGUMENT: .*twice/],
    ['; in the deploy id', argvWith(2, 'one-7;reboot'), /^INVALID_ARGUMENT: deploy id/],
    ['a leading - deploy id', argvWith(2, '-one-7'), /^INVALID_ARGUMENT: deploy id/],
    ['a job id 1x', argvWith(3, '1x'), /^INVALID_ARGUMENT: backup job id/],
    ['another VM id', argvWith(4, '8'), /^INVALID_ARGUMENT: VM id 8 does not match/],
    ['a huge VM id', argvWith(4, '99999999999'), /^INVALID_ARGUMENT: VM id/],
    ['another datastore id', argvWith(5, '101'), /^INVALID_ARGUMENT: datastore id 101 does not match/],
  ])('refuses %s', (_what, argv, expected) => {
    expect(code(() => parseBackupArgs('prebackup', argv, DL))).toMatch(expected);
  });

  it('takes at most 256 disk ids', () => {
    const ids = Array.from({ length: 257 }, (_, i) => String(i));
    expect(parseDiskIds(ids.slice(0, 256).join(':'))).toHaveLength(256);
    expect(code(() => parseDiskIds(ids.join(':')))).toMatch(/^INVALID_ARGUMENT: disk ids .* 1 to 256/);
  });
});

describe('backup VM XML (raw, not base64)', () => {
  it('reads MODE (FULL by default) and BACKUP_RESULT', () => {
    expect(parseBackupVm(VM, 7)).toEqual({ mode: 'FULL', failed: false });
    expect(parseBackupVm(withVmConfig('<MODE>INCREMENT</MODE>'), 7).mode).toBe('INCREMENT');
    expect(
      parseBackupVm(withVmConfig('<MODE>FULL</MODE>', '<BACKUP_RESULT>FAILURE</BACKUP_RESULT>'), 7),
    ).toEqual({
      mode: 'FULL',
      failed: true,
    });
  });

  it.each([
    ['empty', '', /empty document/],
    ['not XML', '<VM><ID>7</ID>', /not XML/],
    ['base64 instead of XML', Buffer.from(VM).toString('base64'), /not XML/],
    ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY a "b">]>${VM}`, /DOCTYPE not accepted/],
    ['another VM', VM.replace('<ID>7</ID>', '<ID>8</ID>'), /is VM "8", not 7/],
    ['no VM element', '<IMAGE><ID>7</ID></IMAGE>', /is VM "<none>", not 7/],
    ['too large', `<VM><ID>7</ID><X>${'a'.repeat(MAX_PAYLOAD_BYTES)}</X></VM>`, /over 8388608 bytes/],
  ])('refuses %s in one line', (_what, xml, expected) => {
    const got = code(() => parseBackupVm(xml, 7));
    expect(got).toMatch(/^INVALID_ARGUMENT: VM XML/);
    expect(got).toMatch(expected);
    expect(got).not.toContain('\n');
  });
});

describe('backup builders and arithmetic', () => {
  it('converts the LV raw, direct I/O, into a qcow2 v3', () => {
    expect(backupConvertArgv({ vg: 'vg-one-100', lv: 'lv-one-7-0' }, `${DIR}/backup/disk.0.0`)).toEqual([
      'qemu-img',
      'convert',
      '-q',
      '-f',
      'raw',
      '-O',
      'qcow2',
      '-o',
      'compat=1.1',
      '-T',
      'none',
      '/dev/vg-one-100/lv-one-7-0',
      `${DIR}/backup/disk.0.0`,
    ]);
  });

  it('counts a qcow2 of a full disk as the disk plus its metadata', () => {
    expect(qcow2MaxBytes(64 * MiB)).toBe(64 * MiB + 16384 + MiB);
    expect(qcow2MaxBytes(0)).toBe(MiB);
    // 8 bytes of L2 and 2 of refcount per 64 KiB cluster stay below the 1/4096 allowed.
    const tib = 2 ** 40;
    expect(qcow2MaxBytes(tib) - tib - MiB).toBeGreaterThan((tib / 65536) * 10);
  });

  it('says how much is missing', () => {
    const disks = [64 * MiB, 128 * MiB];
    const needed = qcow2MaxBytes(64 * MiB) + qcow2MaxBytes(128 * MiB);
    expect(spaceShortage('node1:/d', needed, disks)).toBeNull();
    expect(spaceShortage('node1:/d', needed - 1, disks)).toBe(
      'backup needs 195 MiB on node1:/d, 1 MiB missing (194 MiB free)',
    );
    expect(spaceShortage('node1:/d', 10 * MiB, disks)).toBe(
      'backup needs 195 MiB on node1:/d, 185 MiB missing (10 MiB free)',
    );
  });

  it('reads the statfs answer', () => {
    expect(parseStatFs('gfs/gfs2 4096 1000\n')).toEqual({ type: 'gfs/gfs2', freeBytes: 4096000 });
    expect(parseStatFs('ext2/ext3 4096 x')).toBeNull();
    expect(parseStatFs('')).toBeNull();
  });
});

describe('BACKUP_BASE_PATH of datastore.conf', () => {
  it('reads it as a shell would', () => {
    expect(backupBasePath('# BACKUP_BASE_PATH=/x\n')).toBeUndefined();
    expect(backupBasePath('BACKUP_BASE_PATH=\n')).toBeUndefined();
    expect(backupBasePath('BACKUP_BASE_PATH="/srv/backups"\n')).toBe('/srv/backups');
    expect(backupBasePath("export BACKUP_BASE_PATH='/a'\nBACKUP_BASE_PATH=/b")).toBe('/b');
  });

  it('refuses it when set, in one line; a missing file sets nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tm-dsconf-'));
    try {
      const file = join(dir, 'datastore.conf');
      expect(code(() => refuseBackupBasePath(file))).toBe('accepted');
      writeFileSync(file, '# the default\n#BACKUP_BASE_PATH=/x\n');
      expect(code(() => refuseBackupBasePath(file))).toBe('accepted');
      writeFileSync(file, 'BACKUP_BASE_PATH=/srv/backups\n');
      expect(code(() => refuseBackupBasePath(file))).toBe(
        `UNSUPPORTED: BACKUP_BASE_PATH "/srv/backups" not supported by gfs2clvm (backups go to <vm dir>/backup on GFS2): unset it in ${file}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const LINKS = {
  [`${DIR}/disk.0`]: '/dev/vg-one-100/lv-one-7-0',
  [`${DIR}/disk.1`]: '/dev/vg-one-100/lv-one-7-1',
  [`${DIR}/disk.2`]: '/dev/vg-one-100/lv-one-7-2',
};

/** node1 with the VM's LVs, its links and a GFS2 with `freeMiB` free. */
function node1(freeMiB: number, rules: Rule[] = []): FakeRunner {
  const lvs: Record<string, FakeLv> = {
    'vg-one-100/lv-one-7-0': { sizeMiB: 64, active: true },
    'vg-one-100/lv-one-7-1': { sizeMiB: 128, active: true },
  };
  return fakeHost('node1', lvs, [
    ...rules,
    findRule(LINKS),
    (argv) =>
      argv[0] === 'sh' && argv[2] === PREPARE_SCRIPT
        ? { stdout: `gfs/gfs2 4096 ${freeMiB * 256}\n` }
        : undefined,
  ]);
}

async function run(action: string, argv: string[], stdin: string, host?: FakeRunner) {
  const io = capture();
  const exit = await runAction(action, argv, {
    stdin: Readable.from([stdin]),
    stdout: io.stdout,
    stderr: io.stderr,
    configPath: '/nonexistent',
    config: { ...structuredClone(DEFAULTS), lvmBackend: 'lvm', lvmPrefix: ['lvm'] },
    one: noOned,
    connect: (name) => {
      if (host && name === host.host) return host;
      throw new Error(`no host ${name} in this test`);
    },
  });
  const { out, err } = io.text();
  return { exit, out, lines: err.split('\n').filter((l) => l !== '' && !/^(ERROR|INFO|DEBUG):/.test(l)) };
}

/** The commands that write anything (not lvs, find, the prepare script). */
const writes = (host: FakeRunner) =>
  host.argvs.filter((a) => ['mkdir', 'dd', 'rm'].includes(a[0] as string) || a.includes('qemu-img'));

describe('prebackup against fake hosts', () => {
  it('recreates backup/, then writes disk.<id>.0 per disk from its LV and vm.xml', async () => {
    const host = node1(1000);
    const r = await run('prebackup', GOOD, VM, host);
    expect(r.lines).toEqual([]);
    expect(r.exit).toBe(0);
    expect(host.argvs).toContainEqual(['sh', '-c', PREPARE_SCRIPT, 'prebackup', DIR]);
    expect(writes(host).map((a) => a.filter((w) => !w.startsWith('PATH=') && w !== 'env'))).toEqual([
      ['mkdir', '--', `${DIR}/backup`],
      backupConvertArgv({ vg: 'vg-one-100', lv: 'lv-one-7-0' }, `${DIR}/backup/disk.0.0`),
      backupConvertArgv({ vg: 'vg-one-100', lv: 'lv-one-7-1' }, `${DIR}/backup/disk.1.0`),
      ['dd', `of=${DIR}/backup/vm.xml`, 'bs=1M', 'status=none'],
    ]);
    const vmXml = host.calls.find((c) => c.argv[0] === 'dd');
    expect(Buffer.from(vmXml?.stdin?.toString() ?? '', 'base64').toString()).toBe(VM);
  });

  it('with too little room on the GFS2: one line saying what is missing, nothing written', async () => {
    const host = node1(100);
    const r = await run('prebackup', GOOD, VM, host);
    expect(r.exit).toBe(1);
    expect(r.lines).toEqual([`backup needs 195 MiB on node1:${DIR}, 95 MiB missing (100 MiB free)`]);
    expect(writes(host)).toEqual([]);
  });

  it('a disk id without its link: one line, nothing written', async () => {
    const host = node1(1000);
    const r = await run('prebackup', argvWith(1, '0:3'), VM, host);
    expect(r.exit).toBe(1);
    expect(r.lines).toEqual([`backup of disk 3: ${DIR}/disk.3 is not a link to an LV on node1`]);
    expect(writes(host)).toEqual([]);
  });

  it('MODE=INCREMENT: one line, no host contacted', async () => {
    const r = await run('prebackup', GOOD, withVmConfig('<MODE>INCREMENT</MODE>'));
    expect(r.exit).toBe(1);
    expect(r.lines).toEqual([
      'prebackup of VM 7: MODE=INCREMENT: increments not supported yet by gfs2clvm (use MODE=FULL)',
    ]);
  });

  it('hostile argv or stdin: one line, no host contacted', async () => {
    for (const [argv, stdin] of [
      [argvWith(0, 'node1:/var/lib/one/datastores/100/7/../../x'), VM],
      [argvWith(1, '1:x'), VM],
      [GOOD, 'not xml'],
      [GOOD, withVmConfig('<MODE>DIFF</MODE>')],
    ] as const) {
      const r = await run('prebackup', [...argv], stdin);
      expect(r.exit).toBeGreaterThan(0);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).not.toMatch(/no host/);
    }
  });
});

describe('postbackup against fake hosts', () => {
  it.each([
    ['success', VM],
    ['BACKUP_RESULT=FAILURE', withVmConfig('', '<BACKUP_RESULT>FAILURE</BACKUP_RESULT>')],
    ['stdin not XML', 'x'],
  ])('%s: removes backup/', async (_what, stdin) => {
    const host = node1(1000);
    const r = await run('postbackup', GOOD, stdin, host);
    expect(r).toMatchObject({ exit: 0, lines: [] });
    expect(writes(host)).toEqual([['rm', '-rf', '--one-file-system', '--', `${DIR}/backup`]]);
  });

  it('a failed clean-up is logged, exit 0', async () => {
    const host = node1(1000, [
      (argv) => (argv[0] === 'rm' ? { exitCode: 1, stderr: 'rm: Input/output error' } : undefined),
    ]);
    const io = capture();
    const exit = await runAction('postbackup', GOOD, {
      stdin: Readable.from([VM]),
      stdout: io.stdout,
      stderr: io.stderr,
      configPath: '/nonexistent',
      config: { ...structuredClone(DEFAULTS), lvmBackend: 'lvm', lvmPrefix: ['lvm'] },
      one: noOned,
      connect: () => host,
    });
    expect(exit).toBe(0);
    expect(io.text().err).toMatch(
      /^ERROR: postbackup: postbackup of VM 7: clean-up failed.*Input\/output error/m,
    );
  });
});
