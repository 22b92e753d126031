import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modeOf, removeDir, scratchDir } from './local-cli.js';

const packageDir = join(import.meta.dirname, '..');
const scratch = scratchDir('pack');
afterAll(() => removeDir(scratch));

describe('the published package', () => {
  it('runs `npx one-gfs2clvm --help` and `install --role frontend` from its packed tarball in a scratch directory', () => {
    expect(existsSync(join(packageDir, 'dist/cli.js')), 'build first: pnpm run build (npm test does)').toBe(
      true,
    );
    execFileSync('pnpm', ['pack', '--pack-destination', scratch], { cwd: packageDir, stdio: 'pipe' });
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    const listing = execFileSync('tar', ['-tzf', join(scratch, tarball as string)], { encoding: 'utf8' });
    expect(listing).toContain('package/assets/one-gfs2clvm-helper');
    expect(listing).toContain('package/bin/one-gfs2clvm.js');
    expect(listing).not.toContain('package/test/');

    const app = join(scratch, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{ "name": "scratch", "private": true }\n');
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', join(scratch, tarball as string)],
      {
        cwd: app,
        stdio: 'pipe',
        timeout: 240_000,
      },
    );
    const help = execFileSync('npx', ['--no-install', 'one-gfs2clvm', '--help'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(help).toContain('Usage: one-gfs2clvm');
    expect(help).toContain('vg-create');
    const installHelp = execFileSync('npx', ['--no-install', 'one-gfs2clvm', 'install', '--help'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(installHelp).toContain('--dry-run');

    // The tarball carries both drivers' built trees, and the front-end role lays them down from it.
    for (const entry of [
      'package/dist/remotes/tm/gfs2clvm/gfs2clvm-tm.mjs',
      'package/dist/remotes/tm/gfs2clvm/clone',
      'package/dist/remotes/etc/tm/gfs2clvm/gfs2clvm.conf',
      'package/dist/remotes/datastore/gfs2clvm/gfs2clvm-ds.mjs',
      'package/dist/remotes/datastore/gfs2clvm/cp',
    ])
      expect(listing).toContain(entry);
    const root = join(scratch, 'root');
    mkdirSync(join(root, 'etc/one'), { recursive: true });
    copyFileSync(join(import.meta.dirname, 'fixtures/oned.conf.6.10'), join(root, 'etc/one/oned.conf'));
    const installed = spawnSync(
      'npx',
      ['--no-install', 'one-gfs2clvm', 'install', '--role', 'frontend', '--root', root],
      {
        cwd: app,
        encoding: 'utf8',
      },
    );
    expect(installed.status, installed.stderr).toBe(0);
    // What was packed: the copy the build made of the driver packages' builds.
    const carried = join(packageDir, 'dist/remotes');
    for (const [built, target] of [
      [join(carried, 'tm/gfs2clvm'), 'var/lib/one/remotes/tm/gfs2clvm'],
      [join(carried, 'datastore/gfs2clvm'), 'var/lib/one/remotes/datastore/gfs2clvm'],
    ] as const) {
      const names = readdirSync(built).sort();
      expect(readdirSync(join(root, target)).sort()).toEqual(names);
      for (const name of names) {
        expect(readFileSync(join(root, target, name))).toEqual(readFileSync(join(built, name)));
        expect(modeOf(join(root, target, name))).toBe(name.endsWith('.mjs') ? '644' : '755');
      }
    }
    expect(readFileSync(join(root, 'etc/one/oned.conf'), 'utf8')).toContain('NAME = "gfs2clvm"');
  }, 300_000);
});
