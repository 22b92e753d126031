import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUnder } from '../src/paths.js';
import { checkPathAllowed, decideRestriction, parseDirList } from '../src/restricted-dirs.js';
import { refusal } from './helpers.js';

describe('decideRestriction (pure)', () => {
  const rules = {
    restricted: ['/var/lib/one', '/etc/one', '/home/oneadmin'],
    safe: ['/var/lib/one/uploads'],
  };

  it.each([
    ['/srv/images/debian.qcow2', true],
    ['/var/lib/one/one_auth', false],
    ['/var/lib/one', false],
    ['/var/lib/one/uploads/debian.qcow2', true],
    ['/var/lib/one-other/x', true],
    ['/etc/one/oned.conf', false],
    ['/etc/onepiece', true],
    ['/var/lib/one/uploads-evil/x', false],
  ])('%s → allowed %s', (path, allowed) => {
    expect(decideRestriction(path, rules).allowed).toBe(allowed);
  });

  it('names the directory that decided', () => {
    expect(decideRestriction('/etc/one/oned.conf', rules)).toEqual({
      allowed: false,
      restrictedDir: '/etc/one',
    });
    expect(decideRestriction('/var/lib/one/uploads/a', rules)).toEqual({
      allowed: true,
      safeDir: '/var/lib/one/uploads',
    });
  });

  it('lets a safe dir win over a restricted one, as the fs driver does', () => {
    expect(decideRestriction('/etc/one/x', { restricted: ['/etc/one'], safe: ['/etc'] }).allowed).toBe(true);
  });

  it('compares whole components and reads no regular expressions', () => {
    expect(isUnder('/var/lib/one', '/var/lib/one')).toBe(true);
    expect(isUnder('/var/lib/onex', '/var/lib/one')).toBe(false);
    expect(isUnder('/anything', '/')).toBe(true);
    expect(decideRestriction('/vaX/lib', { restricted: ['/va./lib'], safe: [] }).allowed).toBe(true);
  });
});

describe('parseDirList', () => {
  it('splits on white space and normalises', () => {
    expect(parseDirList(' /var/tmp  /srv//images/\t/data ', 'SAFE_DIRS')).toEqual([
      '/var/tmp',
      '/srv/images',
      '/data',
    ]);
    expect(parseDirList(undefined, 'SAFE_DIRS')).toEqual([]);
  });
  it.each(['relative', '/a/../b', '/a\0b'])('refuses %j', (entry) => {
    expect(() => parseDirList(entry, 'RESTRICTED_DIRS')).toThrow(/^RESTRICTED_DIRS entry /);
  });
});

describe('checkPathAllowed with realpath on this machine (real coreutils)', () => {
  const runner = new LocalRunner();
  let root: string;
  let safe: string;
  let restricted: string;
  let home: string;

  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'gfs2-restricted-')));
    safe = join(root, 'safe');
    restricted = join(root, 'restricted');
    home = join(root, 'home');
    for (const dir of [safe, restricted, home, join(root, 'safe-evil'), join(root, 'images')]) mkdirSync(dir);
    writeFileSync(join(restricted, 'secret'), 'x');
    writeFileSync(join(home, 'one_auth'), 'x');
    writeFileSync(join(safe, 'ok.img'), 'x');
    writeFileSync(join(root, 'safe-evil', 'x.img'), 'x');
    writeFileSync(join(root, 'images', 'a.img'), 'x');
    // A symlink in an unrestricted dir that leads into a restricted one.
    symlinkSync(join(restricted, 'secret'), join(root, 'images', 'innocent.img'));
    // A restricted dir named through a symlink: files in it resolve to the real name.
    symlinkSync(restricted, join(root, 'restricted-alias'));
    // A safe dir reached through a symlink that points outside it.
    symlinkSync(join(home, 'one_auth'), join(safe, 'sneaky.img'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const options = () => ({ restrictedDirs: `${restricted} ${root}/safe`, safeDirs: `${safe}`, home });

  it('allows a plain file and returns its real path', async () => {
    await expect(checkPathAllowed(runner, `${root}//images/a.img`, options())).resolves.toBe(
      join(root, 'images/a.img'),
    );
  });

  it('refuses a symlink that leads into a restricted dir', async () => {
    const error = await refusal(checkPathAllowed(runner, join(root, 'images/innocent.img'), options()));
    expect(error.code).toBe('RESTRICTED');
    expect(error.message).toBe(
      `path restricted: "${root}/images/innocent.img" resolves into ${restricted} on local`,
    );
  });

  it('refuses the home directory of the driver user', async () => {
    expect((await refusal(checkPathAllowed(runner, join(home, 'one_auth'), options()))).code).toBe(
      'RESTRICTED',
    );
  });

  it('refuses a restricted dir given under a symlinked name', async () => {
    const aliased = { ...options(), restrictedDirs: join(root, 'restricted-alias') };
    expect((await refusal(checkPathAllowed(runner, join(restricted, 'secret'), aliased))).code).toBe(
      'RESTRICTED',
    );
  });

  it('allows a safe dir even inside a restricted one, but not a symlink out of it', async () => {
    await expect(checkPathAllowed(runner, join(safe, 'ok.img'), options())).resolves.toBe(
      join(safe, 'ok.img'),
    );
    const error = await refusal(checkPathAllowed(runner, join(safe, 'sneaky.img'), options()));
    expect(error.message).toContain(`resolves into ${home}`);
  });

  it('does not take a name prefix for a directory (safe-evil is not safe)', async () => {
    const error = await refusal(
      checkPathAllowed(runner, join(root, 'safe-evil/x.img'), { ...options(), restrictedDirs: root }),
    );
    expect(error.code).toBe('RESTRICTED');
  });

  it('says NOT_FOUND for a missing file', async () => {
    const error = await refusal(checkPathAllowed(runner, join(root, 'nope.img'), options()));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toMatch(/^realpath \S+nope\.img on local: .*No such file or directory/);
  });

  it('always restricts /etc/one and /var/lib/one', async () => {
    const fake = new FakeRunner({ host: 'fe' });
    fake.on(['realpath', '-e', '--', '/srv/x.img'], { stdout: '/var/lib/one/.one/one_auth\n' });
    fake.on(
      (argv) => argv[0] === 'realpath' && argv[1] === '-m',
      (call) => ({
        stdout: `${call.argv.slice(3).join('\n')}\n`,
      }),
    );
    const error = await refusal(checkPathAllowed(fake, '/srv/x.img', { home: '/var/lib/one' }));
    expect(error.message).toBe('path restricted: "/srv/x.img" resolves into /var/lib/one on fe');
  });

  // Issue 14 item 3: what oneadmin can read but no user may import, refused by default after
  // realpath on this machine (real /proc, /sys, /dev, /run).
  it.each([
    ['/proc/self/environ', '/proc'],
    ['/proc/1/environ', '/proc'],
    ['/proc/self/cmdline', '/proc'],
    ['/sys/kernel/uevent_seqnum', '/sys'],
    ['/dev/zero', '/dev'],
    ['/var/run', '/run'],
  ])('refuses %s by default (resolves into %s)', async (path, dir) => {
    const error = await refusal(checkPathAllowed(runner, path, { home }));
    expect(error.code).toBe('RESTRICTED');
    expect(error.message).toMatch(new RegExp(`^path restricted: "${path}" resolves into ${dir} on local$`));
  });

  it('refuses a symlink into /run by default', async () => {
    symlinkSync('/run/lock', join(root, 'images', 'lock.img'));
    const error = await refusal(checkPathAllowed(runner, join(root, 'images', 'lock.img'), { home }));
    expect(error.message).toBe(`path restricted: "${root}/images/lock.img" resolves into /run on local`);
  });

  it('refuses /var/log/one/oned.log by default (resolved on the host)', async () => {
    const fake = new FakeRunner({ host: 'fe' });
    fake.on(['realpath', '-e', '--', '/srv/log.img'], { stdout: '/var/log/one/oned.log\n' });
    fake.on(
      (argv) => argv[0] === 'realpath' && argv[1] === '-m',
      (call) => ({ stdout: `${call.argv.slice(3).join('\n')}\n` }),
    );
    const error = await refusal(checkPathAllowed(fake, '/srv/log.img', { home: '/var/lib/one' }));
    expect(error.message).toBe('path restricted: "/srv/log.img" resolves into /var/log on fe');
  });

  it('looks up the home of oneadmin on the host when not given, and refuses a hostile user name', async () => {
    const fake = new FakeRunner({ host: 'fe' });
    fake.on(['getent', 'passwd', 'oneadmin'], { stdout: 'oneadmin:x:9869:9869::/srv/one-home:/bin/bash\n' });
    fake.on(['realpath', '-e', '--', '/srv/one-home/id_rsa'], { stdout: '/srv/one-home/id_rsa\n' });
    fake.on(
      (argv) => argv[0] === 'realpath' && argv[1] === '-m',
      (call) => ({
        stdout: `${call.argv.slice(3).join('\n')}\n`,
      }),
    );
    const error = await refusal(checkPathAllowed(fake, '/srv/one-home/id_rsa'));
    expect(error.message).toContain('resolves into /srv/one-home on fe');
    const none = new FakeRunner({ host: 'fe' });
    expect((await refusal(checkPathAllowed(none, '/srv/a', { user: '-s' }))).code).toBe('INVALID_PATH');
    expect(none.calls).toHaveLength(0);
  });
});
