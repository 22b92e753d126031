import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  limitedCounter,
  STAGING_RESERVE,
  stagingLimit,
  stagingOverflow,
  stagingRefusal,
  statFsSpaceArgv,
} from '../src/file-import.js';
import { checkHostFile, HOST_FILE_SCRIPT, hostFileArgv, parseHostFileOutput } from '../src/host-file.js';

// The fixed script runs for real here (LocalRunner: the same sh and coreutils as the testbed's
// guests, which run this machine's root); the testbed suite runs it over SSH.
const runner = new LocalRunner();
const user = userInfo().username;
let loc: string;
let outside: string;

const rules = (extra: { restrictedDirs?: string; safeDirs?: string } = {}) => ({
  datastoreLocation: loc,
  restrictedDirs: extra.restrictedDirs,
  safeDirs: extra.safeDirs,
  user,
});
const refusal = (path: string, extra?: { restrictedDirs?: string; safeDirs?: string }) =>
  checkHostFile(runner, path, rules(extra)).then(
    () => 'allowed',
    (error: Error & { code?: string }) => `${error.code}: ${error.message}`,
  );

beforeAll(() => {
  loc = mkdtempSync(join(tmpdir(), 'one-image-hostfile-'));
  outside = mkdtempSync(join(tmpdir(), 'one-image-outside-'));
  mkdirSync(join(loc, 'import'));
  mkdirSync(join(loc, '0', '7'), { recursive: true });
  writeFileSync(join(loc, 'import', 'a.img'), 'x');
  writeFileSync(join(loc, 'import', 'we$(touch pwned) \'ird"; -x.img'), 'x');
  writeFileSync(join(loc, 'import', 'trailing\n'), 'x');
  writeFileSync(join(loc, 'import', 'trailing'), 'x');
  symlinkSync('trailing\n', join(loc, 'import', 'nl.img'));
  writeFileSync(join(loc, '0', '7', 'disk.0'), 'x');
  writeFileSync(join(outside, 'secret'), 'x');
  symlinkSync(join(outside, 'secret'), join(loc, 'import', 'out.img'));
  symlinkSync(join(loc, '0', '7', 'disk.0'), join(loc, 'import', 'vmdisk.img'));
  symlinkSync('/dev/null', join(loc, 'import', 'dev.img'));
  symlinkSync(join(loc, 'import'), join(loc, 'import-link'));
  execFileSync('mkfifo', [join(loc, 'import', 'fifo.img')]);
});

afterAll(async () => {
  rmSync(loc, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
  await runner.close();
});

describe('checkHostFile: one fixed script, the decisions in code', () => {
  it('returns the real path of a regular file, also through a symlinked folder', async () => {
    expect(await checkHostFile(runner, join(loc, 'import', 'a.img'), rules())).toBe(
      join(loc, 'import', 'a.img'),
    );
    expect(await checkHostFile(runner, join(loc, 'import-link', 'a.img'), rules())).toBe(
      join(loc, 'import', 'a.img'),
    );
  });

  it('keeps shell metacharacters in names as data (nothing runs)', async () => {
    const name = join(loc, 'import', 'we$(touch pwned) \'ird"; -x.img');
    expect(await checkHostFile(runner, name, rules())).toBe(name);
    expect(execFileSync('ls', ['-A', process.cwd()]).toString()).not.toMatch(/pwned/);
  });

  it('a symlink out of the mount: refused, naming where it leads', async () => {
    const path = join(loc, 'import', 'out.img');
    expect(await refusal(path)).toBe(
      `FORBIDDEN: ${path} resolves to ${join(outside, 'secret')} on local, outside ${loc}`,
    );
  });

  it('a symlink into a VM directory, a device, a FIFO (no hang), a folder: refused', async () => {
    expect(await refusal(join(loc, 'import', 'vmdisk.img'))).toMatch(/^FORBIDDEN: .*VM 7/);
    // /dev is restricted by default (issue 14 item 3): refused before the DATASTORE_LOCATION check.
    expect(await refusal(join(loc, 'import', 'dev.img'))).toMatch(
      /^FORBIDDEN: path restricted: .*dev\.img" resolves into \/dev on local$/,
    );
    expect(await refusal(join(loc, 'import', 'fifo.img'))).toBe(
      `INVALID_ARGUMENT: ${join(loc, 'import', 'fifo.img')} is not a regular file on local`,
    );
    expect(await refusal(join(loc, 'import'))).toMatch(
      /^INVALID_ARGUMENT: .* is not a regular file on local$/,
    );
  });

  it("a missing file: one NOT_FOUND line with realpath's reason", async () => {
    expect(await refusal(join(loc, 'import', 'nope.img'))).toBe(
      `NOT_FOUND: realpath ${join(loc, 'import', 'nope.img')} on local: realpath: ${join(loc, 'import', 'nope.img')}: No such file or directory (exit 1)`,
    );
  });

  it('a name ending in a newline is not confused with the name without it', async () => {
    // A clean name whose real path has a control character: refused, never read as ".../trailing".
    expect(await refusal(join(loc, 'import', 'nl.img'))).toMatch(
      /real path of .* contains a control character/,
    );
  });

  it('RESTRICTED_DIRS by given and by resolved name; SAFE_DIRS win; the defaults and $HOME always', async () => {
    const file = join(loc, 'import', 'a.img');
    expect(await refusal(file, { restrictedDirs: join(loc, 'import') })).toBe(
      `FORBIDDEN: path restricted: ${JSON.stringify(file)} resolves into ${join(loc, 'import')} on local`,
    );
    // Restricted through a symlink to the folder: its resolved name counts.
    expect(await refusal(file, { restrictedDirs: `/nonexistent ${join(loc, 'import-link')}` })).toMatch(
      /^FORBIDDEN: path restricted: .* resolves into /,
    );
    expect(await refusal(file, { restrictedDirs: loc, safeDirs: join(loc, 'import-link') })).toBe('allowed');
    // A safe dir counts only as resolved: a restricted folder is not made safe by naming a missing one.
    expect(await refusal(file, { restrictedDirs: loc, safeDirs: join(loc, 'nope') })).toMatch(/^FORBIDDEN/);
    // The user's home is restricted (here: a folder inside it, taken as DATASTORE_LOCATION).
    const inHome = mkdtempSync(join(homedir(), '.one-image-test-'));
    try {
      writeFileSync(join(inHome, 'x.img'), 'x');
      const r = await checkHostFile(runner, join(inHome, 'x.img'), {
        ...rules(),
        datastoreLocation: inHome,
      }).then(
        () => 'allowed',
        (error: Error) => error.message,
      );
      expect(r).toBe(
        `path restricted: ${JSON.stringify(join(inHome, 'x.img'))} resolves into ${homedir()} on local`,
      );
    } finally {
      rmSync(inHome, { recursive: true, force: true });
    }
  });

  it('hostile input: relative and dotted paths, bad dir lists, a user name that is an option', async () => {
    expect(await refusal('import/a.img')).toMatch(/is not absolute/);
    expect(await refusal(`${loc}/../etc/passwd`)).toMatch(/has a "\.\." component/);
    expect(await refusal(join(loc, 'import', 'a.img'), { safeDirs: 'relative/dir' })).toMatch(
      /SAFE_DIRS entry/,
    );
    await expect(
      checkHostFile(runner, join(loc, 'import', 'a.img'), { ...rules(), user: '--help' }),
    ).rejects.toThrow(/SSH user "--help" is not a user name/);
  });
});

describe('script and parser', () => {
  it('the script is fixed: the values are positional parameters only', () => {
    const argv = hostFileArgv('oneadmin', '/x/$(id)', ['/a b']);
    expect(argv).toEqual(['sh', '-c', HOST_FILE_SCRIPT, 'sh', 'oneadmin', '/x/$(id)', '/a b']);
    expect(HOST_FILE_SCRIPT).not.toContain('oneadmin');
  });

  it('refuses output of the wrong shape', () => {
    expect(parseHostFileOutput('0\0/a\0' + '0\0/home/u\0/home/u\0/d\0', 1)).toEqual({
      realpathExit: 0,
      realPath: '/a',
      regularFile: true,
      home: '/home/u',
      resolved: ['/home/u', '/d'],
    });
    expect(() => parseHostFileOutput('0\0/a\0' + '0\0\0/d\0', 2)).toThrow(/fields/);
    expect(() => parseHostFileOutput('x\0/a\0' + '0\0\0', 0)).toThrow(/fields/);
    expect(() => parseHostFileOutput('', 0)).toThrow(/fields/);
  });
});

describe('staging space: a download or upload staged on GFS2 must fit', () => {
  const MiB = 2 ** 20;

  it('reads the free space with stat -f on the host (here: this machine, for real)', async () => {
    expect(statFsSpaceArgv('/x y')).toEqual(['stat', '-f', '-c', '%a %b %S', '--', '/x y']);
    const out = await runner.run(statFsSpaceArgv(tmpdir()));
    const limit = stagingLimit(out.stdout);
    const [avail, total, block] = out.stdout.trim().split(' ').map(Number) as [number, number, number];
    expect(limit).toBe(Math.max(0, avail * block - Math.ceil(total * block * STAGING_RESERVE)));
  });

  it('keeps a reserve of the file system free; never below 0; refuses odd output', () => {
    // 512 MiB GFS2 (4 KiB blocks) with 100 MiB free: 100 - 25.6 MiB may be staged.
    expect(stagingLimit(`${25600} ${131072} 4096\n`)).toBe(100 * MiB - Math.ceil(512 * MiB * 0.05));
    expect(stagingLimit('10 131072 4096\n')).toBe(0);
    for (const bad of ['', 'x 1 2', '1 2', '1 2 3 4', '-1 2 3', '1 2 3\nrm -rf /'])
      expect(() => stagingLimit(bad)).toThrow(/stat -f gave/);
  });

  it('a known length that does not fit is refused before a byte moves; unknown or fitting lengths start', () => {
    const where = '/var/lib/one/datastores/.gfs2clvm-import (node1)';
    expect(stagingRefusal('download of http://h/x.img', 2 ** 40, 400 * MiB, where)).toBe(
      'download of http://h/x.img: 1048576.0 MiB do not fit in the 400.0 MiB free for staging on /var/lib/one/datastores/.gfs2clvm-import (node1)',
    );
    expect(stagingRefusal('d', 400 * MiB + 1, 400 * MiB, where)).toMatch(/do not fit/);
    expect(stagingRefusal('d', 400 * MiB, 400 * MiB, where)).toBeUndefined();
    expect(stagingRefusal('d', undefined, 0, where)).toBeUndefined();
  });

  it('a transfer of unknown length is stopped as soon as it grows past the limit', async () => {
    // An endless source (a server that never stops sending): the pipeline must end all the same.
    const source = new Readable({
      read() {
        this.push(Buffer.alloc(300));
      },
    });
    const counter = limitedCounter(1000, () => new Error(stagingOverflow('download of u', 1000, 'w')));
    let written = 0;
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        written += chunk.length;
        done();
      },
    });
    await expect(pipeline(source, counter.stream, sink)).rejects.toThrow(
      'download of u: stopped past 0.0 MiB, more than the free space for staging on w',
    );
    expect(counter.overflow).toBe(true);
    expect(written).toBeLessThanOrEqual(1000);
    expect(source.destroyed).toBe(true);
    // Exactly the limit passes.
    const exact = limitedCounter(1000, () => new Error('no'));
    await pipeline(
      Readable.from([Buffer.alloc(1000)]),
      exact.stream,
      new Writable({ write: (_c, _e, d) => d() }),
    );
    expect([exact.bytes, exact.overflow]).toEqual([1000, false]);
  });
});
