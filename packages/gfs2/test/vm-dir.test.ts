import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRunner, RemoteError } from '@one-gfs2clvm/ssh-remote';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type DiskLocation,
  diskLocation,
  parseDiskPath,
  parseVmDirPath,
  vmDirLocation,
} from '../src/paths.js';
import {
  ensureVmDir,
  ensureVmDirAndLink,
  linkDisk,
  parseEntryLine,
  readDiskLink,
  removeDiskLink,
  removeVmDir,
  validateDevicePath,
} from '../src/vm-dir.js';
import { answerBatches, fakeGfs2Host, refusal } from './helpers.js';

/** node1 with datastore 100 on a withdrawn GFS2: its statfs (`stat -f`) fails with an I/O error. */
function withdrawnNode1() {
  const fake = answerBatches(new FakeRunner({ host: 'node1' }));
  fake.on((argv) => argv[0] === 'stat', {
    exitCode: 1,
    stderr: "stat: cannot read file system information for '/var/lib/one/datastores/100': Input/output error",
  });
  return fake;
}

describe('validateDevicePath', () => {
  it.each(['/dev/vg-one-100/lv-one-7-0', '/dev/vg_1/lv+snap.2'])('accepts %j', (path) => {
    expect(validateDevicePath(path)).toBe(path);
  });
  it.each([
    '/dev/sda',
    '/dev/vg/lv/x',
    '/etc/shadow',
    'dev/vg/lv',
    '/dev/../etc',
    '/dev/vg/..',
    '/dev/./lv',
    '/dev/-vg/lv',
    '/dev/vg/-lv',
    '/dev/vg/lv\n',
    '/dev/vg/lv;rm -rf /',
    '/dev/vg/$(id)',
    `/dev/vg/${'a'.repeat(128)}`,
    '//dev/vg/lv',
  ])('refuses %j', (path) => {
    expect(() => validateDevicePath(path)).toThrow(/^device .* is not \/dev\/<vg>\/<lv>$/);
  });
});

describe('parseEntryLine', () => {
  it.each([
    ['l\t/dev/vg/lv\n', { type: 'symlink', target: '/dev/vg/lv' }],
    ['l\t/dev/vg/a\tb\n', { type: 'symlink', target: '/dev/vg/a\tb' }],
    ['f\t\n', { type: 'file' }],
    ['d\t\n', { type: 'directory' }],
    ['b\t\n', { type: 'other' }],
  ])('%j', (line, entry) => {
    expect(parseEntryLine(line)).toEqual(entry);
  });
});

describe('VM dir effects on this machine (real coreutils, root file system: not GFS2)', () => {
  const runner = new LocalRunner();
  const root = mkdtempSync(join(tmpdir(), 'gfs2-vmdir-'));
  const datastores = join(root, 'datastores');
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  beforeEach(() => {
    rmSync(datastores, { recursive: true, force: true });
    mkdirSync(datastores);
  });

  it('ensureVmDir with the datastore dir missing (GFS2 not mounted) writes nothing', async () => {
    const location = vmDirLocation(datastores, 100, 7);
    const error = await refusal(ensureVmDir(runner, location));
    expect(error.code).toBe('NOT_GFS2');
    expect(error.message).toBe(`GFS2 not mounted? ${datastores}/100 missing on local`);
    expect(readdirSync(datastores)).toEqual([]);
  });

  it('ensureVmDir refuses a datastore dir that exists on the root disk and creates nothing in it', async () => {
    mkdirSync(join(datastores, '100'));
    const error = await refusal(ensureVmDir(runner, vmDirLocation(datastores, 100, 7)));
    expect(error.code).toBe('NOT_GFS2');
    expect(readdirSync(join(datastores, '100'))).toEqual([]);
  });

  it('ensureVmDirAndLink off GFS2 (datastore dir on the root disk) creates neither dir nor link', async () => {
    mkdirSync(join(datastores, '100'));
    const disk = diskLocation(vmDirLocation(datastores, 100, 7), 0);
    const error = await refusal(ensureVmDirAndLink(runner, disk, '/dev/vg-one-100/lv-oneimg-7'));
    expect(error.code).toBe('NOT_GFS2');
    expect(readdirSync(join(datastores, '100'))).toEqual([]);
  });

  it('removeVmDir refuses off GFS2 and leaves the directory alone', async () => {
    const location = vmDirLocation(datastores, 100, 7);
    mkdirSync(location.vmDir, { recursive: true });
    writeFileSync(join(location.vmDir, 'deployment.0'), '<domain/>');
    expect((await refusal(removeVmDir(runner, location))).code).toBe('NOT_GFS2');
    expect(existsSync(join(location.vmDir, 'deployment.0'))).toBe(true);
  });

  describe('disk.N links (need no GFS2: they run inside a VM dir that exists)', () => {
    let disk: DiskLocation;
    beforeEach(() => {
      disk = diskLocation(vmDirLocation(datastores, 100, 7), 0);
      mkdirSync(disk.vmDir, { recursive: true });
    });

    it('links, re-links atomically, reads and removes disk.N', async () => {
      expect(await readDiskLink(runner, disk)).toEqual({ type: 'missing' });
      await linkDisk(runner, disk, '/dev/vg-one-100/lv-one-7-0');
      expect(readlinkSync(disk.diskPath)).toBe('/dev/vg-one-100/lv-one-7-0');
      expect(await readDiskLink(runner, disk)).toEqual({
        type: 'symlink',
        target: '/dev/vg-one-100/lv-one-7-0',
      });
      await linkDisk(runner, disk, '/dev/vg-one-101/lv-one-7-0');
      expect(readlinkSync(disk.diskPath)).toBe('/dev/vg-one-101/lv-one-7-0');
      expect(readdirSync(disk.vmDir)).toEqual(['disk.0']); // no temporary name left behind
      await removeDiskLink(runner, disk);
      expect(readdirSync(disk.vmDir)).toEqual([]);
      await removeDiskLink(runner, disk); // missing is success
    });

    it('tells a context ISO (regular file) from a link', async () => {
      writeFileSync(disk.diskPath, 'CD001');
      expect(await readDiskLink(runner, disk)).toEqual({ type: 'file' });
    });

    it('refuses to replace a directory at disk.N and leaves no temporary link', async () => {
      mkdirSync(join(disk.diskPath, 'inner'), { recursive: true });
      const error = await refusal(linkDisk(runner, disk, '/dev/vg/lv'));
      expect(error.code).toBe('EXEC');
      expect(error.message).toMatch(new RegExp(`^link ${disk.diskPath} on local: `));
      expect(readdirSync(disk.vmDir)).toEqual(['disk.0']);
      expect(readdirSync(disk.diskPath)).toEqual(['inner']);
    });

    it('fails cleanly when the VM dir is missing', async () => {
      rmSync(disk.vmDir, { recursive: true });
      const error = await refusal(linkDisk(runner, disk, '/dev/vg/lv'));
      expect(error.code).toBe('EXEC');
      expect(existsSync(disk.vmDir)).toBe(false);
    });
  });
});

describe('VM dir effects, command by command (fake GFS2 host)', () => {
  const location = parseVmDirPath('/var/lib/one//datastores/100/7');
  it('ensureVmDir checks GFS2, then creates only the VM dir (no -p) and checks it is a directory', async () => {
    const fake = fakeGfs2Host();
    fake.on(['mkdir', '--', '/var/lib/one/datastores/100/7'], {
      exitCode: 1,
      stderr: 'mkdir: File exists\n',
    });
    fake.on(['stat', '-c', '%F', '--', '/var/lib/one/datastores/100/7'], { stdout: 'directory\n' });
    await expect(ensureVmDir(fake, location)).resolves.toBe('/var/lib/one/datastores/100/7');
    // One remote command; inside it the same commands as before, the mkdir only after statfs said GFS2.
    expect(fake.argvs.map((argv) => argv[0])).toEqual(['sh', 'stat', 'findmnt', 'grep', 'mkdir', 'stat']);
  });

  it('ensureVmDir refuses a symlink planted as the VM dir', async () => {
    const fake = fakeGfs2Host();
    fake.on((argv) => argv[0] === 'mkdir', { exitCode: 1, stderr: 'mkdir: File exists\n' });
    fake.on(['stat', '-c', '%F', '--', '/var/lib/one/datastores/100/7'], { stdout: 'symbolic link\n' });
    const error = await refusal(ensureVmDir(fake, location));
    expect(error.code).toBe('OUTSIDE_DATASTORE');
    expect(error.message).toBe('VM dir /var/lib/one/datastores/100/7 on node1 is a symbolic link');
  });

  it('ensureVmDir runs no mkdir when GFS2 is withdrawn', async () => {
    const fake = withdrawnNode1();
    expect((await refusal(ensureVmDir(fake, location))).code).toBe('WITHDRAWN');
    expect(fake.argvs.some((argv) => argv[0] === 'mkdir')).toBe(false);
  });

  it('linkDisk makes a temporary link in the VM dir and renames it onto disk.N', async () => {
    const fake = answerBatches(new FakeRunner({ host: 'node1' }));
    fake.on([
      'ln',
      '-s',
      '--',
      '/dev/vg-one-100/lv-one-7-1',
      /^\/var\/lib\/one\/datastores\/100\/7\/\.disk\.1\.[0-9a-f]{12}\.tmp$/,
    ]);
    fake.on(['mv', '-f', '-T', '--', /\.tmp$/, '/var/lib/one/datastores/100/7/disk.1']);
    await linkDisk(fake, parseDiskPath('/var/lib/one/datastores/100/7/disk.1'), '/dev/vg-one-100/lv-one-7-1');
    expect(fake.argvs.map((argv) => argv[0])).toEqual(['sh', 'ln', 'mv']);
    expect(fake.argvs[2]?.[4]).toBe(fake.argvs[1]?.[4]);
  });

  it('linkDisk removes the temporary link when the rename fails, and says so in one line', async () => {
    const fake = answerBatches(new FakeRunner({ host: 'node1' }));
    fake.on((argv) => argv[0] === 'ln');
    fake.on((argv) => argv[0] === 'mv', {
      exitCode: 1,
      stderr: "mv: cannot overwrite directory '/var/lib/one/datastores/100/7/disk.1'\n",
    });
    fake.on((argv) => argv[0] === 'rm');
    const error = await refusal(
      linkDisk(fake, parseDiskPath('/var/lib/one/datastores/100/7/disk.1'), '/dev/vg-one-100/lv-one-7-1'),
    );
    expect(error.message).toBe(
      "link /var/lib/one/datastores/100/7/disk.1 on node1: mv: cannot overwrite directory '/var/lib/one/datastores/100/7/disk.1' (exit 1)",
    );
    expect(fake.argvs.map((argv) => argv[0])).toEqual(['sh', 'ln', 'mv', 'rm']);
    expect(fake.argvs[3]?.at(-1)).toBe(fake.argvs[1]?.[4]);
  });

  describe('ensureVmDirAndLink', () => {
    const disk = parseDiskPath('/var/lib/one/datastores/100/7/disk.1');
    const tmp = /^\/var\/lib\/one\/datastores\/100\/7\/\.disk\.1\.[0-9a-f]{12}\.tmp$/;
    const device = '/dev/vg-one-100/lv-oneimg-7';
    function vmDirHost(kind = 'directory'): ReturnType<typeof fakeGfs2Host> {
      const fake = fakeGfs2Host();
      fake.on(['mkdir', '--', '/var/lib/one/datastores/100/7']);
      fake.on(['stat', '-c', '%F', '--', '/var/lib/one/datastores/100/7'], { stdout: `${kind}\n` });
      return fake;
    }

    it('checks GFS2, makes the VM dir and links disk.N in ONE remote command', async () => {
      const fake = vmDirHost();
      fake.on(['ln', '-s', '--', device, tmp]);
      fake.on(['mv', '-f', '-T', '--', tmp, '/var/lib/one/datastores/100/7/disk.1']);
      await ensureVmDirAndLink(fake, disk, device);
      expect(fake.calls.filter((call) => call.argv[0] === 'sh')).toHaveLength(1);
      expect(fake.argvs.map((argv) => argv[0])).toEqual([
        'sh',
        'stat',
        'findmnt',
        'grep',
        'mkdir',
        'stat',
        'ln',
        'mv',
      ]);
      expect(fake.argvs[7]?.[4]).toBe(fake.argvs[6]?.[4]);
    });

    it('links nothing in a symlink planted as the VM dir', async () => {
      const fake = vmDirHost('symbolic link');
      const error = await refusal(ensureVmDirAndLink(fake, disk, device));
      expect(error.code).toBe('OUTSIDE_DATASTORE');
      expect(error.message).toBe('VM dir /var/lib/one/datastores/100/7 on node1 is a symbolic link');
      expect(fake.argvs.some((argv) => argv[0] === 'ln' || argv[0] === 'mv')).toBe(false);
    });

    it('runs neither mkdir nor ln when statfs fails (withdrawn GFS2)', async () => {
      const fake = withdrawnNode1();
      expect((await refusal(ensureVmDirAndLink(fake, disk, device))).code).toBe('WITHDRAWN');
      expect(fake.argvs.some((argv) => ['mkdir', 'ln', 'mv'].includes(argv[0] as string))).toBe(false);
    });

    it('judges GFS2 before the link: a withdrawn flag is the refusal even though the link ran', async () => {
      const fake = fakeGfs2Host({ withdraw: '1' });
      fake.on((argv) => argv[0] === 'mkdir');
      fake.on((argv) => argv[0] === 'stat' && argv[1] === '-c', { stdout: 'directory\n' });
      fake.on((argv) => argv[0] === 'ln');
      fake.on((argv) => argv[0] === 'mv');
      expect((await refusal(ensureVmDirAndLink(fake, disk, device))).code).toBe('WITHDRAWN');
      expect(fake.argvs.some((argv) => argv[0] === 'ln')).toBe(true); // the caller's undo removes it
    });

    it('removes the temporary link when the rename fails, and says so in one line', async () => {
      const fake = vmDirHost();
      fake.on((argv) => argv[0] === 'ln');
      fake.on((argv) => argv[0] === 'mv', {
        exitCode: 1,
        stderr: "mv: cannot overwrite directory '/var/lib/one/datastores/100/7/disk.1'\n",
      });
      fake.on((argv) => argv[0] === 'rm');
      const error = await refusal(ensureVmDirAndLink(fake, disk, device));
      expect(error.message).toBe(
        "link /var/lib/one/datastores/100/7/disk.1 on node1: mv: cannot overwrite directory '/var/lib/one/datastores/100/7/disk.1' (exit 1)",
      );
      expect(fake.argvs.slice(-3).map((argv) => argv[0])).toEqual(['ln', 'mv', 'rm']);
      expect(fake.argvs.at(-1)?.at(-1)).toBe(fake.argvs.at(-3)?.[4]);
    });

    it('says which step failed when the symlink cannot be made', async () => {
      const fake = vmDirHost();
      fake.on((argv) => argv[0] === 'ln', { exitCode: 1, stderr: 'ln: No space left on device\n' });
      const error = await refusal(ensureVmDirAndLink(fake, disk, device));
      expect(error.message).toBe(`ln -s ${device} on node1: ln: No space left on device (exit 1)`);
      expect(fake.argvs.some((argv) => argv[0] === 'mv')).toBe(false);
    });
  });

  it('waits up to 2 minutes for a GFS2 that DLM recovery or a busy cluster holds, by default', async () => {
    // A `find … disk.0` over a 30 s limit failed clones on a loaded two-host cluster; GFS2 blocks
    // (does not fail) while another host holds the glock or DLM recovers after a host is lost.
    const fake = new FakeRunner({ host: 'node1' });
    fake.on((argv) => argv[0] === 'find', { stdout: 'l\t/dev/vg-one-100/lv-one-7-0\n' });
    await readDiskLink(fake, parseDiskPath('/var/lib/one/datastores/100/7/disk.0'));
    expect(fake.calls.map((call) => call.options.timeoutMs)).toEqual([120_000]);
  });

  it('a batch that never answers is the timeout of its first check', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on(
      (argv) => argv[0] === 'sh',
      new RemoteError('TIMEOUT', 'node1: sh timed out', { timedOut: true }),
    );
    const error = await refusal(ensureVmDir(fake, location, { timeoutMs: 5 }));
    expect(error.message).toBe('GFS2 not answering: stat -f /var/lib/one/datastores/100 on node1 timed out');
    expect(fake.calls).toHaveLength(1);
  });

  it('removeVmDir removes only the VM dir, on one file system, after the GFS2 check', async () => {
    const fake = fakeGfs2Host();
    fake.on(['rm', '-r', '-f', '--one-file-system', '--', '/var/lib/one/datastores/100/7']);
    await removeVmDir(fake, location);
    expect(fake.argvs.at(-1)).toEqual([
      'rm',
      '-r',
      '-f',
      '--one-file-system',
      '--',
      '/var/lib/one/datastores/100/7',
    ]);
  });

  it('refuses locations of the wrong kind or forged by hand, running nothing', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    const disk = parseDiskPath('/var/lib/one/datastores/100/7/disk.0');
    expect((await refusal(removeVmDir(fake, disk as never))).code).toBe('OUTSIDE_DATASTORE');
    expect((await refusal(linkDisk(fake, location as never, '/dev/vg/lv'))).code).toBe('OUTSIDE_DATASTORE');
    const forged = { ...location, path: '/etc', vmDir: '/etc', dsDir: '/' };
    expect((await refusal(removeVmDir(fake, forged))).code).toBe('OUTSIDE_DATASTORE');
    const forgedDisk = {
      ...disk,
      diskPath: '/etc/passwd',
      path: '/var/lib/one/datastores/100/7/../../../../etc/passwd',
    };
    expect((await refusal(removeDiskLink(fake, forgedDisk))).code).toBe('INVALID_PATH');
    expect((await refusal(linkDisk(fake, disk, '/etc/shadow'))).code).toBe('INVALID_PATH');
    expect((await refusal(ensureVmDirAndLink(fake, location as never, '/dev/vg/lv'))).code).toBe(
      'OUTSIDE_DATASTORE',
    );
    expect((await refusal(ensureVmDirAndLink(fake, forgedDisk, '/dev/vg/lv'))).code).toBe('INVALID_PATH');
    expect((await refusal(ensureVmDirAndLink(fake, disk, '/dev/vg/$(id)'))).code).toBe('INVALID_PATH');
    expect((await refusal(ensureVmDirAndLink(fake, disk, '/dev/vg/lv\n'))).code).toBe('INVALID_PATH');
    expect(fake.calls).toHaveLength(0);
  });
});
