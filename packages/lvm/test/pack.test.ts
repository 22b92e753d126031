import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The published shape: `pnpm pack` of this package (and of ssh-remote, which `workspace:^` turns
// into a version range) installed with npm into a scratch project, then imported by node and
// type-checked by tsc. Needs the built dist (`npm test` builds first) and the npm registry.
// @types/ssh2 is installed by hand: ssh-remote's .d.ts imports `ssh2` types but lists them as a
// dev dependency only (reported to ssh-remote); without it a strict consumer fails with TS7016.
const run = promisify(execFile);
const pkgDir = resolve(import.meta.dirname, '..');
const sshDir = resolve(pkgDir, '..', 'ssh-remote');
const tsc = resolve(pkgDir, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
let scratch = '';

async function pack(dir: string, dest: string): Promise<string> {
  if (!existsSync(join(dir, 'dist', 'index.js')))
    throw new Error(`${dir}/dist is missing: run pnpm run build first`);
  await run('pnpm', ['pack', '--pack-destination', dest], { cwd: dir });
  const name = readdirSync(dest).find(
    (f) => f.endsWith('.tgz') && f.includes(dir.endsWith('lvm') ? '-lvm-' : 'ssh-remote'),
  );
  if (!name) throw new Error(`no tarball from ${dir}`);
  return join(dest, name);
}

describe('pnpm pack tarball', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'lvm-pack-'));
    const tarballs = join(scratch, 'tarballs');
    await run('mkdir', ['-p', tarballs]);
    const ssh = await pack(sshDir, tarballs);
    const lvm = await pack(pkgDir, tarballs);
    const app = join(scratch, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
    );
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--loglevel=error',
        ssh,
        lvm,
        '@types/node@20.19.43',
        '@types/ssh2@1.15.6',
      ],
      {
        cwd: app,
        timeout: 240_000,
      },
    );
  }, 300_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds dist, package.json and README only', async () => {
    const tarball = readdirSync(join(scratch, 'tarballs')).find((f) => f.includes('-lvm-')) as string;
    const { stdout } = await run('tar', ['-tzf', join(scratch, 'tarballs', tarball)]);
    const files = stdout.trim().split('\n');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/testing.js');
    expect(files).toContain('package/README.md');
    expect(files.filter((f) => /\/(src|test|bench|scripts)\//.test(f))).toEqual([]);
  });

  it('imports in node, both entry points', async () => {
    const app = join(scratch, 'app');
    const script = `
      import { Lvm, LvmError, vmDiskLvName, dmName } from '@one-gfs2clvm/lvm';
      import { FakeRunner, recorded, lvmCommand, replay } from '@one-gfs2clvm/lvm/testing';
      const runner = new FakeRunner({ host: 'n1' });
      runner.on(lvmCommand('lvs', 'vg-rec-1'), replay(recorded.lvsJson));
      const lvs = await new Lvm({ runner }).listLvs('vg-rec-1');
      console.log(JSON.stringify([vmDiskLvName(7, 0), dmName({ vg: 'vg-one-100', lv: 'lv-one-7-0' }), lvs.length, typeof LvmError.isInstance]));
    `;
    const { stdout } = await run('node', ['--input-type=module', '-e', script], { cwd: app });
    expect(JSON.parse(stdout)).toEqual(['lv-one-7-0', 'vg--one--100-lv--one--7--0', 3, 'function']);
  });

  it('type-checks against the shipped .d.ts, and catches a wrong use', async () => {
    const app = join(scratch, 'app');
    const typecheck = (file: string) => {
      const compilerOptions = {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        noEmit: true,
        types: ['node'],
      };
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [file] }));
      return run('node', [tsc, '-p', '.'], { cwd: app }).catch((error: { stdout?: string }) => {
        throw new Error(`tsc ${file}: ${error.stdout ?? String(error)}`);
      });
    };
    writeFileSync(
      join(app, 'main.ts'),
      `import { Lvm, type Lv, type LvmErrorCode } from '@one-gfs2clvm/lvm';
       import { FakeRunner } from '@one-gfs2clvm/lvm/testing';
       const lvm = new Lvm({ runner: new FakeRunner(), backend: 'helper' });
       const size: Promise<number> = lvm.getLv('vg', 'lv').then((lv: Lv) => lv.sizeBytes);
       const code: LvmErrorCode = 'LOCKED_BY_OTHER_HOST';
       export { size, code };
      `,
    );
    await typecheck('main.ts');
    writeFileSync(join(app, 'bad.ts'), `import { Lvm } from '@one-gfs2clvm/lvm';\nnew Lvm({ runner: 1 });\n`);
    await expect(typecheck('bad.ts')).rejects.toThrow(/bad\.ts\(2,\d+\): error TS2322/);
  });
});
