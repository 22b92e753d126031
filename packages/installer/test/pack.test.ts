import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = join(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'one-gfs2clvm-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the published package', () => {
  it('runs `npx one-gfs2clvm --help` from its packed tarball in a scratch directory', () => {
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
  }, 300_000);
});
