// The CLI as a process: real stdin/stdout, like oned talking to one_tm / one_datastore.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64, dsActionData } from '../src/index.js';
import { usePrefix } from './helpers.js';

const PACKAGE = join(import.meta.dirname, '..');
let buildDir: string;

// Bundled fresh from src/ (never a stale dist/); inside the package so its dependencies resolve.
beforeAll(() => {
  buildDir = mkdtempSync(join(PACKAGE, 'test', '.build-'));
  execFileSync(
    'pnpm',
    [
      'exec',
      'tsup',
      'src/cli.ts',
      '--no-config',
      '--format',
      'esm',
      '--target',
      'node20',
      '--out-dir',
      buildDir,
      '--silent',
    ],
    { cwd: PACKAGE, stdio: 'pipe' },
  );
}, 60_000);
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

function runCli(args: string[], stdin: string, env: NodeJS.ProcessEnv, end = false) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [join(buildDir, 'cli.js'), ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.write(stdin);
    if (end) child.stdin.end();
  });
}

describe('one-harness CLI', () => {
  const prefix = usePrefix();

  it('tm: answers INIT and TRANSFER, exits 0 after FINALIZE while stdin is still open', async () => {
    const file = join(prefix().dir, 'transfer.0.prolog');
    writeFileSync(file, 'CLONE gfs2clvm one-fe:/a one-node1:/b 7 101\nCPDS_FAIL gfs2clvm x\n');
    const result = await runCli(
      ['tm', '-r', prefix().remotesDir, '-t', '1', '-d', 'gfs2clvm'],
      `INIT\nTRANSFER  7 ${file}\nFINALIZE\n`,
      prefix().env,
    );
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'INIT SUCCESS - -',
        'LOG I -1 clone: a log line from the script',
        `LOG I 7 Command execution failed (exit code: 1): ${prefix().remotesDir}/tm/gfs2clvm/cpds_fail x`,
        'LOG E 7 cpds_fail: Command "lvcreate -L1024M -n lv-one-7-0 vg-one-100" failed: Volume group not found',
        'LOG I 7 Error creating LV named lv-one-7-0',
        'LOG I 7 second plain stderr line',
        'LOG E -1 cpds_fail: Command "lvcreate -L1024M -n lv-one-7-0 vg-one-100" failed: Volume group not found',
        'TRANSFER FAILURE 7 Error creating LV named lv-one-7-0second plain stderr line',
        '',
      ].join('\n'),
    });
  });

  it('ds: system-DS MONITOR through -s; EOF exits 255 at once unless --eof-finalizes', async () => {
    const xml = dsActionData({ dsMad: '-', tmMad: 'gfs2clvm', type: 1, id: 100 });
    const args = ['ds', '-r', prefix().remotesDir, '-d', 'gfs2clvm', '-s', 'gfs2clvm'];
    const waited = await runCli(
      [...args, '--eof-finalizes'],
      `MONITOR 100 ${base64(xml)}\n`,
      prefix().env,
      true,
    );
    expect(waited).toEqual({
      code: 0,
      stderr: '',
      stdout: 'MONITOR SUCCESS 100 VVNFRF9NQj0xMApGUkVFX01CPTkwClRPVEFMX01CPTEwMAo=\n',
    });
    const faithful = await runCli(args, 'INIT\n', prefix().env, true);
    expect(faithful.code).toBe(255);
  });

  it('bad options end with one line of error and a non-zero code', async () => {
    const result = await runCli(['ds', '-r', prefix().remotesDir, '-t', '0'], '', prefix().env, true);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('one-harness: concurrency must be a positive integer, got 0\n');
  });
});
