// The built TM actions load only what they use (issue 18 item 3): ssh2's client and execa are chunks
// of their own, imported when a host or a local command is first used. Checked on copies of the build
// without those chunks: an action that answers at once still answers; one that goes further stops
// exactly where it first needs the missing chunk. Needs the build (`pnpm --filter @one-gfs2clvm/one-tm build`).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeOned, datastoreXml } from '@one-gfs2clvm/one-harness';
import { afterAll, describe, expect, it } from 'vitest';

const BUILT = fileURLToPath(new URL('../dist/remotes/tm/gfs2clvm', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'one-tm-build-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LAZY = { ssh2: /^client-[\w-]+\.mjs$/, execa: /^execa-[\w-]+\.mjs$/ };

/** A copy of the built actions (outside any package.json: CommonJS shims, as installed) without `drop`. */
function copyWithout(name: string, drop: RegExp[]): string {
  const copy = join(dir, name);
  cpSync(BUILT, copy, { recursive: true });
  for (const file of readdirSync(copy)) if (drop.some((re) => re.test(file))) rmSync(join(copy, file));
  return copy;
}

const run = (file: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(file, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });

describe('the built TM actions load ssh2 and execa only when they use them', () => {
  it('builds each as a chunk of its own, next to the bundle', () => {
    const files = readdirSync(BUILT);
    expect(files.filter((f) => LAZY.ssh2.test(f))).toHaveLength(1);
    expect(files.filter((f) => LAZY.execa.test(f))).toHaveLength(1);
  });

  it('a usage error and an unsupported action need neither', () => {
    const copy = copyWithout('neither', [LAZY.ssh2, LAZY.execa]);
    const usage = run(join(copy, 'clone'), []);
    expect(usage.stderr).toContain('clone: expected 4 arguments, got 0');
    expect(usage.stderr).not.toContain('Cannot find module');
    expect(usage.status).toBe(2);
    const unsupported = run(join(copy, 'prebackup_live'), ['a', 'b', 'c', 'd']);
    expect(unsupported.stderr).toMatch(/^prebackup_live: backups not supported/m);
    expect(unsupported.status).toBe(1);
  });

  it('an action asking oned first needs execa; one reaching a host needs ssh2 from then on', async () => {
    const fake = await createFakeOned(join(dir, 'oned'));
    await fake.setDatastore(0, datastoreXml({ id: 0, type: 1 }));
    const env = { ...process.env, ...fake.env, GFS2CLVM_CONF: join(dir, 'no-such.conf') };
    const args = ['127.0.0.1:/var/lib/one/datastores/0/5/disk.0', '5', '0'];

    const noExeca = run(join(copyWithout('no-execa', [LAZY.execa]), 'delete'), args, env);
    expect(noExeca.stderr).toMatch(/onedatastore show -x 0 failed: .*Cannot find module .*execa-/);

    const noSsh2 = run(join(copyWithout('no-ssh2', [LAZY.ssh2]), 'delete'), args, env);
    expect(noSsh2.stderr).toMatch(/Cannot find module .*client-/);
    expect(noSsh2.status).toBe(1);
  });
});
