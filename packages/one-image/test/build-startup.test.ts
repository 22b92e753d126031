// The built DS actions load only what they use (issue 18 item 3): ssh2's client and execa are chunks
// of their own, imported when a host or a local command is first used. Checked on a copy of the build
// without them: actions that answer at once still answer. Needs the build
// (`pnpm --filter @one-gfs2clvm/one-image build`).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BUILT = fileURLToPath(new URL('../dist/remotes/datastore/gfs2clvm', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'one-image-build-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LAZY = [/^client-[\w-]+\.mjs$/, /^execa-[\w-]+\.mjs$/];

describe('the built DS actions load ssh2 and execa only when they use them', () => {
  it('builds each as a chunk of its own; a usage error and an unsupported action need neither', () => {
    const files = readdirSync(BUILT);
    for (const chunk of LAZY) expect(files.filter((f) => chunk.test(f))).toHaveLength(1);
    // Outside any package.json: CommonJS shims, as installed.
    const copy = join(dir, 'gfs2clvm');
    cpSync(BUILT, copy, { recursive: true });
    for (const file of readdirSync(copy)) if (LAZY.some((re) => re.test(file))) rmSync(join(copy, file));
    const run = (action: string) =>
      spawnSync(join(copy, action), [], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      });
    const usage = run('stat');
    expect(usage.stderr).toMatch(
      /^stat: expected <id> \(payload on stdin\) or <base64 payload> <id>, got 0 arguments$/m,
    );
    expect(usage.stderr).not.toContain('Cannot find module');
    const unsupported = run('export');
    expect(unsupported.stderr).toMatch(/^export: marketplace export not supported by gfs2clvm$/m);
    expect(unsupported.status).toBe(1);
  });
});
