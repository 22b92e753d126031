import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { diskLocation, parseDiskPath, parseVmDirPath, vmDirLocation } from '../src/paths.js';
import { placeFile, placeFileArgv, temporaryPath } from '../src/place.js';
import { codeOf, refusal } from './helpers.js';

const DIR = '/var/lib/one/datastores/100/7';

/** Names that must never reach a host: escapes, options, shell syntax, line breaks. */
const HOSTILE = [
  '',
  '.',
  '..',
  '../disk.0',
  '/etc/passwd',
  'a/b',
  '-rf',
  '--help',
  '.hidden',
  'disk.0;rm -rf /',
  'disk.$(id)',
  'disk.`id`',
  "disk.0'",
  'disk 0',
  'disk.0|cat',
  'disk.0&',
  'disk.0>x',
  'disk.0\n',
  'disk.0\nx',
  'disk.\u0000',
  'x'.repeat(129),
];

describe('placeFileArgv (pure)', () => {
  it('writes under a temporary name in the same directory, renames onto the name, removes on failure', () => {
    expect(placeFileArgv(DIR, 'disk.4', '0123456789ab')).toEqual({
      temporary: `${DIR}/.disk.4.0123456789ab.tmp`,
      path: `${DIR}/disk.4`,
      write: ['dd', `of=${DIR}/.disk.4.0123456789ab.tmp`, 'bs=1M', 'status=none'],
      rename: ['mv', '-f', '-T', '--', `${DIR}/.disk.4.0123456789ab.tmp`, `${DIR}/disk.4`],
      cleanup: ['rm', '-f', '--', `${DIR}/.disk.4.0123456789ab.tmp`],
    });
  });

  it.each(HOSTILE)('refuses the name %j with one INVALID_PATH line', (name) => {
    expect(codeOf(() => placeFileArgv(DIR, name, '0123456789ab'))).toBe('INVALID_PATH');
    expect(() => placeFileArgv(DIR, name, '0123456789ab')).toThrow(/^file name ".*" is not a plain name in /);
  });

  it.each(['var/lib/one', '/var/lib/one/../../etc', '/var/lib\n/one', ''])(
    'refuses the directory %j',
    (dir) => {
      expect(codeOf(() => placeFileArgv(dir, 'disk.4', '0123456789ab'))).toBe('INVALID_PATH');
    },
  );

  it.each(['', 'XYZ', '../x', '0123'])('refuses the token %j', (token) => {
    expect(codeOf(() => temporaryPath(DIR, 'disk.4', token))).toBe('INVALID_PATH');
  });
});

describe('placeFile, command by command (fake host)', () => {
  const disk = parseDiskPath(`${DIR}/disk.4`);
  const TMP = new RegExp(`^${DIR}/\\.disk\\.4\\.[0-9a-f]{12}\\.tmp$`);

  it.each(HOSTILE)('runs nothing for the name %j', async (name) => {
    const fake = new FakeRunner({ host: 'node1' });
    expect((await refusal(placeFile(fake, disk, name, Readable.from(['x'])))).code).toBe('INVALID_PATH');
    expect(fake.calls).toEqual([]);
  });

  it('runs nothing for a location forged outside the datastore', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    const forged = { ...parseVmDirPath(DIR), path: '/etc' };
    expect((await refusal(placeFile(fake, forged, 'x', Readable.from(['x'])))).code).toBe(
      'OUTSIDE_DATASTORE',
    );
    expect(fake.calls).toEqual([]);
  });

  it('streams the content into the temporary name, then renames it onto the name', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on(['dd', /^of=/, 'bs=1M', 'status=none']);
    fake.on(['mv', '-f', '-T', '--', TMP, `${DIR}/disk.4`]);
    const placed = await placeFile(fake, disk, 'disk.4', Readable.from([Buffer.from('CD001')]));
    expect(placed).toEqual({ path: `${DIR}/disk.4`, bytes: 5 });
    expect(fake.calls[0]?.stdin?.toString()).toBe('CD001');
    expect(fake.argvs[0]?.[1]).toBe(`of=${fake.argvs[1]?.[4]}`);
    expect(fake.argvs.map((argv) => argv[0])).toEqual(['dd', 'mv']);
  });

  it('removes the temporary file when the write fails, and says so in one line', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on((argv) => argv[0] === 'dd', {
      exitCode: 1,
      stderr: 'dd: error writing: No space left on device\n',
    });
    fake.on((argv) => argv[0] === 'rm');
    const error = await refusal(placeFile(fake, disk, 'disk.4', Readable.from(['x'])));
    expect(error.message).toMatch(
      /^write \/var\/lib\/one\/datastores\/100\/7\/\.disk\.4\.[0-9a-f]{12}\.tmp failed on node1 \(exit 1\): dd: error writing: No space left on device$/,
    );
    expect(fake.argvs.map((argv) => argv[0])).toEqual(['dd', 'rm']);
    expect(fake.argvs[1]).toEqual(['rm', '-f', '--', fake.argvs[0]?.[1]?.slice('of='.length)]);
  });

  it('removes the temporary file when the rename fails', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on((argv) => argv[0] === 'dd');
    fake.on((argv) => argv[0] === 'mv', {
      exitCode: 1,
      stderr: `mv: cannot overwrite directory '${DIR}/disk.4'\n`,
    });
    fake.on((argv) => argv[0] === 'rm');
    const error = await refusal(placeFile(fake, disk, 'disk.4', Readable.from(['x'])));
    expect(error.message).toBe(
      `rename to ${DIR}/disk.4 failed on node1 (exit 1): mv: cannot overwrite directory '${DIR}/disk.4'`,
    );
    expect(fake.argvs.map((argv) => argv[0])).toEqual(['dd', 'mv', 'rm']);
    expect(fake.argvs[2]?.at(-1)).toBe(fake.argvs[1]?.[4]);
  });

  it('removes the temporary file after a lost connection; the error is retryable', async () => {
    const fake = new FakeRunner({ host: 'node1' }).failNext(1, 'CONNECTION_LOST');
    fake.on((argv) => argv[0] === 'rm');
    const error = await refusal(placeFile(fake, disk, 'disk.4', Readable.from(['x'])));
    expect(error.code).toBe('EXEC');
    expect(error.isRetryable).toBe(true);
    expect(fake.argvs.map((argv) => argv[0])).toEqual(['dd', 'rm']);
  });
});

describe('placeFile on this machine (real coreutils; the GFS2 side is in place.testbed)', () => {
  const runner = new LocalRunner();
  const root = mkdtempSync(join(tmpdir(), 'gfs2-place-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const vmDir = vmDirLocation(root, 100, 7);
  beforeEach(() => {
    rmSync(vmDir.dsDir, { recursive: true, force: true });
    mkdirSync(vmDir.vmDir, { recursive: true });
  });

  it('places a local file, replaces it with the next one, and leaves no temporary file', async () => {
    const source = join(root, 'source');
    writeFileSync(source, 'first');
    expect(await placeFile(runner, vmDir, 'disk.4', source)).toEqual({
      path: `${vmDir.vmDir}/disk.4`,
      bytes: 5,
    });
    writeFileSync(source, 'second!');
    await placeFile(runner, diskLocation(vmDir, 4), 'disk.4', source);
    expect(readFileSync(`${vmDir.vmDir}/disk.4`, 'utf8')).toBe('second!');
    expect(readdirSync(vmDir.vmDir)).toEqual(['disk.4']);
  });

  it('leaves a directory at the name alone and removes the temporary file', async () => {
    mkdirSync(join(vmDir.vmDir, 'disk.4', 'inner'), { recursive: true });
    const error = await refusal(placeFile(runner, vmDir, 'disk.4', Readable.from(['x'])));
    expect(error.message).toMatch(/^rename to .*\/disk\.4 failed on local \(exit 1\): mv: /);
    expect(readdirSync(vmDir.vmDir)).toEqual(['disk.4']);
    expect(readdirSync(join(vmDir.vmDir, 'disk.4'))).toEqual(['inner']);
  });

  it('removes the temporary file when the source fails half-way, and places nothing', async () => {
    writeFileSync(join(vmDir.vmDir, 'disk.4'), 'old');
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(65536, 1);
        await new Promise((resolve) => setTimeout(resolve, 500)); // dd has begun the temporary file
        throw new Error('source broke');
      })(),
    );
    const error = await refusal(placeFile(runner, vmDir, 'disk.4', failing));
    expect(error.code).toBe('EXEC');
    expect(readFileSync(join(vmDir.vmDir, 'disk.4'), 'utf8')).toBe('old');
    expect(readdirSync(vmDir.vmDir)).toEqual(['disk.4']);
  });
});
