import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'bin', 'one-gfs2clvm.js');
const dir = mkdtempSync(join(tmpdir(), 'installer-last-resort-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The published bin with an unexpected failure provoked from outside (a preloaded module): an
 * unhandled stream 'error' event (issue 13 item 2's shape) or an unhandled rejection.
 */
async function runBin(failure: string, imports = ''): Promise<{ code: number | null; stderr: string }> {
  const file = join(dir, `preload-${Math.random().toString(16).slice(2)}.mjs`);
  // Fails once the bin has installed its handlers (loading it takes a while on a busy machine).
  writeFileSync(
    file,
    `${imports}\nconst t = setInterval(() => {\n  if (process.listenerCount('unhandledRejection') === 0) return;\n  clearInterval(t);\n  ${failure};\n}, 20);\n`,
  );
  const child = spawn(process.execPath, ['--import', file, BIN, '--version'], { timeout: 15_000 });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += String(c)));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr };
}

const plain = (stderr: string) => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('ERROR: '));

describe('the CLI last resort (issue 13 item 2)', () => {
  it("an unhandled 'error' event: ERROR lines, then one plain line, exit 1", async () => {
    const r = await runBin(
      "createReadStream('/nonexistent-3200/x')",
      "import { createReadStream } from 'node:fs';",
    );
    expect(r.code).toBe(1);
    expect(plain(r.stderr)).toEqual([
      "one-gfs2clvm: unexpected failure: ENOENT: no such file or directory, open '/nonexistent-3200/x'",
    ]);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(plain(r.stderr)[0]);
    expect(r.stderr).toMatch(/^ERROR: Error: ENOENT/m);
    expect(r.stderr).not.toMatch(/node:events|Unhandled 'error'/);
  });

  it('an unhandled rejection: the same', async () => {
    const r = await runBin("Promise.reject(new Error('boom\\nsecond line'))");
    expect(r.code).toBe(1);
    expect(plain(r.stderr)).toEqual(['one-gfs2clvm: unexpected failure: boom second line']);
  });
});
