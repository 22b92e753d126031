import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { base64, HarnessError, TmDriver, type TmOptions } from '../src/index.js';
import { usePrefix } from './helpers.js';

const VMDIR = '/var/lib/one//datastores/100/7';
const VM_XML = '<VM><ID>7</ID><TEMPLATE><DISK><TM_MAD><![CDATA[gfs2clvm]]></TM_MAD></DISK></TEMPLATE></VM>';

describe('TmDriver', () => {
  const prefix = usePrefix();

  const driver = (options: Partial<TmOptions> = {}) =>
    new TmDriver({ remotesDir: prefix().remotesDir, vmsDir: prefix().vmsDir, env: prefix().env, ...options });

  it('transferLines writes <vmsDir>/<vmid>/transfer.<seq>.<op> like oned, seq counting per VM', async () => {
    const tm = driver();
    const first = await tm.transferLines(7, [`DELETE gfs2clvm one-node1:${VMDIR}/disk.0 7 101`], 'epilog');
    const second = await tm.transferLines(7, [`DELETE gfs2clvm one-node1:${VMDIR} 7 100`], 'delete');
    const other = await tm.transferLines(9, [`DELETE gfs2clvm one-node1:${VMDIR} 9 100`]);
    expect([first.file, second.file, other.file]).toEqual([
      join(prefix().vmsDir, '7', 'transfer.0.epilog'),
      join(prefix().vmsDir, '7', 'transfer.1.delete'),
      join(prefix().vmsDir, '9', 'transfer.0.prolog'),
    ]);
    expect(readFileSync(first.file, 'utf8')).toBe(`DELETE gfs2clvm one-node1:${VMDIR}/disk.0 7 101\n`);
    expect(tm.lines).toEqual([
      'LOG I -1 delete: a log line from the script',
      'TRANSFER SUCCESS 7 -',
      'LOG I -1 delete: a log line from the script',
      'TRANSFER SUCCESS 7 -',
      'LOG I -1 delete: a log line from the script',
      'TRANSFER SUCCESS 9 -',
    ]);
  });

  it('PREMIGRATE/POSTMIGRATE/FAILMIGRATE get the VM XML as one base64 line on stdin, no newline', async () => {
    const tm = driver({ drivers: ['someother'] }); // the VMM path accepts every driver, like TransferManagerDriver.new(nil)
    const words = (action: string) => [action, 'gfs2clvm', 'one-node1', 'one-node2', VMDIR, '7', '100'];
    for (const action of ['PREMIGRATE', 'POSTMIGRATE', 'FAILMIGRATE']) {
      const result = await tm.tmCommand(7, words(action), base64(VM_XML));
      expect(result).toMatchObject({ result: 'SUCCESS', info: '-' });
      expect(result.lines).toEqual([`LOG I -1 ${action.toLowerCase()}: a log line from the script`]);
      expect(result.command?.stdin).toBe(base64(VM_XML));
    }
    const stdin = `stdin=${base64(base64(VM_XML))}`;
    expect(prefix().calls()).toEqual([
      ['premigrate', 'one-node1', 'one-node2', VMDIR, '7', '100', stdin],
      ['postmigrate', 'one-node1', 'one-node2', VMDIR, '7', '100', stdin],
      ['failmigrate', 'one-node1', 'one-node2', VMDIR, '7', '100', stdin],
    ]);
    // No TRANSFER reply: the result is folded into the VMM's own answer.
    expect(tm.lines.some((line) => line.startsWith('TRANSFER'))).toBe(false);
  });

  it('tmCommand reports failures like a transfer line (CONTEXT through a missing driver, RESIZE failing)', async () => {
    const tm = driver();
    expect(await tm.tmCommand(7, ['CONTEXT', 'nosuch', 'a', 'b'])).toMatchObject({
      result: 'FAILURE',
      info: "Transfer Driver 'nosuch' not available",
      lines: [],
    });
    const failed = await tm.tmCommand(7, ['CPDS_FAIL', 'gfs2clvm', 'x']);
    expect(failed.result).toBe('FAILURE');
    expect(failed.info).toBe('Error creating LV named lv-one-7-0second plain stderr line');
    expect(failed.lines[0]).toBe(
      `LOG I 7 Command execution failed (exit code: 1): ${prefix().remotesDir}/tm/gfs2clvm/cpds_fail x`,
    );
  });

  it('infoRules 6: the 6.10 front-end glues the whole stderr and forwards no prefixed line', async () => {
    const tm = driver({ infoRules: '6' });
    const result = await tm.transferLines(8, ['RESIZE gfs2clvm a 4096 8 101', 'CPDS_FAIL gfs2clvm x']);
    expect(result.lines).toEqual([
      `LOG I 8 Command execution failed (exit code: 1): ${prefix().remotesDir}/tm/gfs2clvm/cpds_fail x`,
      'LOG E 8 cpds_fail: Command "lvcreate -L1024M -n lv-one-7-0 vg-one-100" failed: Volume group not found',
      'LOG I 8 Error creating LV named lv-one-7-0',
      'LOG I 8 second plain stderr line',
      'TRANSFER FAILURE 8 ERROR: cpds_fail: Command "lvcreate -L1024M -n lv-one-7-0 vg-one-100" failed: ' +
        'Volume group not found Error creating LV named lv-one-7-0 second plain stderr line',
    ]);
  });

  it('passes hostile arguments literally as argv, never through a shell', async () => {
    const marker = join(prefix().dir, 'pwned');
    const hostile = [
      `$(touch${'\t'}${marker})`,
      `;touch`,
      marker,
      '`id`',
      '-rf',
      '--',
      '../../etc/passwd',
      '\'"',
      '|&<>*?',
    ];
    const line = `CLONE gfs2clvm ${hostile.join(' ')}`.replace('\t', '_');
    const result = await driver().transferLines(7, [line]);
    expect(result.reply).toBe('TRANSFER SUCCESS 7 -');
    expect(prefix().calls()[0]).toEqual(['clone', ...line.split(' ').slice(2), 'stdin=']);
    expect(existsSync(marker)).toBe(false);
    // The logged command line is shell-escaped the way Shellwords.escape does it.
    expect(result.commands[0]?.commandLine).toContain('\\;touch');
    expect(result.commands[0]?.commandLine).toContain('\\\'\\"');
  });

  it('reports a missing ACTION.suffix fallback with both paths, and a non-executable script as an internal error', async () => {
    const dir = `${prefix().remotesDir}/tm/gfs2clvm`;
    writeFileSync(join(dir, 'noexec'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    const tm = driver({ drivers: ['gfs2clvm'] });
    const nope = await tm.transferLines(7, ['NOPE.ssh gfs2clvm a']);
    expect(nope.reply).toBe(`TRANSFER FAILURE 7 Driver path '${dir}/nope.ssh' nor '${dir}/nope' exists`);
    const noexec = await tm.transferLines(7, ['NOEXEC gfs2clvm a']);
    expect(noexec.lines).toEqual([
      `LOG I 7 Internal error Permission denied - ${dir}/noexec`,
      `TRANSFER FAILURE 7 Internal error Permission denied - ${dir}/noexec`,
    ]);
    // A line with a lone action word has an empty driver name.
    expect((await tm.transferLines(7, ['CLONE'])).reply).toBe(
      "TRANSFER FAILURE 7 Transfer Driver '' not available",
    );
  });

  it('a script killed by a signal counts as exit code 255', async () => {
    writeFileSync(
      join(prefix().remotesDir, 'tm', 'gfs2clvm', 'suicide'),
      '#!/bin/sh\necho dying >&2\nkill -9 $$\n',
      {
        mode: 0o755,
      },
    );
    const result = await driver().transferLines(8, ['SUICIDE gfs2clvm']);
    expect(result.commands[0]).toMatchObject({ code: 255, exitCode: null, signal: 'SIGKILL' });
    expect(result.lines).toEqual([
      `LOG I 8 Command execution failed (exit code: 255): ${prefix().remotesDir}/tm/gfs2clvm/suicide`, // log() strips the trailing blank
      'LOG I 8 dying',
      'TRANSFER FAILURE 8 dying',
    ]);
  });

  it('refuses ids and lines the protocol could not carry; nothing is written', async () => {
    const tm = driver();
    await expect(tm.transferLines('../x', ['CLONE gfs2clvm a'])).rejects.toThrow(/non-negative integer/);
    await expect(tm.transferLines(-1, ['CLONE gfs2clvm a'])).rejects.toThrow(HarnessError);
    await expect(tm.transferLines(7, ['CLONE gfs2clvm a'], '../../etc')).rejects.toThrow(
      /transfer operation/,
    );
    await expect(tm.transferLines(7, ['CLONE gfs2clvm a\nDELETE gfs2clvm b'])).rejects.toThrow(/newline/);
    expect(() => tm.transfer('7 8', '/x')).toThrow(/one word/);
    await expect(tm.tmCommand(7, ['CLONE', 'gfs2clvm', 'a b'])).rejects.toThrow(/one word/);
    await expect(tm.tmCommand(7, [])).rejects.toThrow(/action word/);
    expect(existsSync(prefix().vmsDir) ? readdirSync(prefix().vmsDir) : []).toEqual([]);
    expect(existsSync(prefix().callsLog)).toBe(false);
  });

  it('runs scripts in the parent of the remotes dir (like /var/lib/one), or in cwd when given', async () => {
    expect((await driver().tmCommand(1, ['PWD', 'gfs2clvm'])).lines).toEqual([
      `LOG I -1 cwd=${prefix().dir}/var`,
    ]);
    expect((await driver({ cwd: prefix().dir }).tmCommand(1, ['PWD', 'gfs2clvm'])).lines).toEqual([
      `LOG I -1 cwd=${prefix().dir}`,
    ]);
  });

  it('a relative transfer file path is read from the driver cwd and quoted as sent', async () => {
    const tm = driver({ cwd: prefix().dir });
    writeFileSync(join(prefix().dir, 'relative.prolog'), `DELETE gfs2clvm one-node1:${VMDIR} 7 100\n`);
    expect((await tm.transfer(7, 'relative.prolog')).reply).toBe('TRANSFER SUCCESS 7 -');
    expect((await tm.transfer(7, 'missing.prolog')).reply).toBe(
      "TRANSFER FAILURE 7 Transfer file 'missing.prolog' does not exist",
    );
  });

  it('a transfer file that is a directory gets no reply (the Ruby thread dies on the read)', async () => {
    const result = await driver().transfer(7, prefix().dir);
    expect(result.reply).toBeUndefined();
    expect(result.crash).toMatch(/EISDIR/);
  });
});
