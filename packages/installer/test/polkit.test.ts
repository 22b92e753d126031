import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { localExec } from '../src/exec.js';
import { renderPolkitPkla, renderPolkitRules } from '../src/render/polkit.js';
import { javascriptValidation } from '../src/validators.js';

/**
 * The polkit rule asked of the real polkitd (Debian 12: polkit 122, `.rules` only) in a private
 * mount namespace of this machine: its own system bus, the installed rules directory bind-mounted
 * as /etc/polkit-1/rules.d, a oneadmin account. Nothing outside the namespace changes.
 */
const fixtures = join(import.meta.dirname, 'fixtures');
const work = mkdtempSync(join(tmpdir(), 'one-gfs2clvm-polkit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let run = 0;
/** pkcheck's exit codes for a oneadmin process and a nobody process (0 allowed, 2 auth required). */
function askPolkit(rulesDir: string): { oneadmin: number; nobody: number } {
  const scratch = join(work, `sandbox-${run++}`);
  mkdirSync(scratch);
  const result = spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      join(fixtures, 'polkit-sandbox.sh'),
      rulesDir,
      scratch,
      join(fixtures, 'org.libvirt.unix.policy'),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const match = /^oneadmin=(\d+) nobody=(\d+)$/m.exec(result.stdout);
  expect(match, `${result.stdout}\n${result.stderr}`).not.toBeNull();
  return { oneadmin: Number(match?.[1]), nobody: Number(match?.[2]) };
}

async function cli(...args: string[]): Promise<number> {
  return main(['node', 'one-gfs2clvm', ...args], { exec: localExec, out: () => {}, err: () => {} });
}

describe('the polkit rule, asked of polkitd', () => {
  it('lets oneadmin manage libvirt after install --role host, not before and not after uninstall', async () => {
    expect(process.getuid?.(), 'needs root (mount namespace, polkitd)').toBe(0);
    const root = join(work, 'root');
    mkdirSync(join(root, 'etc/libvirt'), { recursive: true });
    cpSync(join(fixtures, 'qemu.conf.debian12'), join(root, 'etc/libvirt/qemu.conf'));
    const rulesDir = join(root, 'etc/polkit-1/rules.d');
    mkdirSync(rulesDir, { recursive: true });

    expect(askPolkit(rulesDir)).toEqual({ oneadmin: 2, nobody: 2 });
    expect(await cli('install', '--role', 'host', '--root', root)).toBe(0);
    expect(readFileSync(join(rulesDir, '50-one-gfs2clvm.rules'), 'utf8')).toBe(renderPolkitRules('oneadmin'));
    expect(askPolkit(rulesDir)).toEqual({ oneadmin: 0, nobody: 2 });
    expect(await cli('uninstall', '--root', root)).toBe(0);
    expect(askPolkit(rulesDir)).toEqual({ oneadmin: 2, nobody: 2 });
  }, 120_000);
});

describe('the rendered polkit files', () => {
  it('.rules compiles as JavaScript, and a broken one is refused', () => {
    if (!('check' in javascriptValidation)) throw new Error('the .rules validation is not a content check');
    const check = javascriptValidation.check;
    expect(() => check(renderPolkitRules('oneadmin'))).not.toThrow();
    expect(() => check('polkit.addRule(function (a, s) {\n')).toThrow(/polkit rule does not compile/);
  });

  it('.pkla is one INI section with the keys the local authority reads', () => {
    // polkit ≤ 0.105 only (polkit 122 here reads no .pkla): checked by its grammar, not by a daemon.
    const lines = renderPolkitPkla('oneadmin')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(lines[0]).toMatch(/^\[[^\]]+\]$/);
    expect(Object.fromEntries(lines.slice(1).map((line) => line.split('=')))).toEqual({
      Identity: 'unix-user:oneadmin',
      Action: 'org.libvirt.unix.manage',
      ResultAny: 'yes',
      ResultInactive: 'yes',
      ResultActive: 'yes',
    });
  });
});
