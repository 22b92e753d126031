import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localExec } from '../src/exec.js';
import { ExecTarget, LocalTarget, type Target } from '../src/target.js';
import { visudoValidation } from '../src/validators.js';

// Both targets keep the same promises. ExecTarget is what `--ssh` uses over an SSH runner; here it
// runs its coreutils argv locally, on paths under a scratch directory.
let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'one-gfs2clvm-target-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

const targets: [string, () => { target: Target; base: string; real: (p: string) => string }][] = [
  [
    'LocalTarget under a root',
    () => ({ target: new LocalTarget(scratch, localExec), base: '', real: (p) => join(scratch, p) }),
  ],
  ['ExecTarget', () => ({ target: new ExecTarget('local', localExec), base: scratch, real: (p) => p })],
];

describe.each(targets)('%s', (_name, make) => {
  it('reads a missing file as null, and a written one back', async () => {
    const { target, base } = make();
    expect(await target.read(`${base}/nope`)).toBeNull();
    expect(await target.mode(`${base}/nope`)).toBeNull();
    expect(await target.ensureParents(`${base}/etc/one-gfs2clvm/x.conf`)).toEqual([
      `${base}/etc`,
      `${base}/etc/one-gfs2clvm`,
    ]);
    expect(await target.ensureParents(`${base}/etc/one-gfs2clvm/x.conf`)).toEqual([]);
    await target.write(`${base}/etc/one-gfs2clvm/x.conf`, 'a "quoted" $(value)\n', 0o640);
    expect(await target.read(`${base}/etc/one-gfs2clvm/x.conf`)).toBe('a "quoted" $(value)\n');
    expect(await target.mode(`${base}/etc/one-gfs2clvm/x.conf`)).toBe(0o640);
  });

  it('keeps the old file and leaves no temporary file when validation fails', async () => {
    const { target, base, real } = make();
    await target.ensureParents(`${base}/sudoers.d/one-gfs2clvm`);
    await target.write(
      `${base}/sudoers.d/one-gfs2clvm`,
      'oneadmin ALL=(root) NOPASSWD: /bin/true\n',
      0o440,
      visudoValidation,
    );
    await expect(
      target.write(
        `${base}/sudoers.d/one-gfs2clvm`,
        'oneadmin ALL=(root NOPASSWD: /bin/true\n',
        0o440,
        visudoValidation,
      ),
    ).rejects.toThrow(/^sudoers fragment rejected by visudo: /);
    expect(await target.read(`${base}/sudoers.d/one-gfs2clvm`)).toBe(
      'oneadmin ALL=(root) NOPASSWD: /bin/true\n',
    );
    expect(readdirSync(real(`${base}/sudoers.d`))).toEqual(['one-gfs2clvm']);
  });

  it('copies, removes, and removes only empty directories', async () => {
    const { target, base, real } = make();
    await target.ensureParents(`${base}/d/e/f`);
    await target.write(`${base}/d/e/f`, 'x', 0o600);
    await target.copy(`${base}/d/e/f`, `${base}/d/g`);
    expect(await target.read(`${base}/d/g`)).toBe('x');
    await target.removeDirIfEmpty(`${base}/d/e`);
    expect(readdirSync(real(`${base}/d`)).sort()).toEqual(['e', 'g']);
    await target.remove(`${base}/d/e/f`);
    await target.remove(`${base}/d/e/f`);
    await target.removeDirIfEmpty(`${base}/d/e`);
    expect(readdirSync(real(`${base}/d`))).toEqual(['g']);
  });
});
