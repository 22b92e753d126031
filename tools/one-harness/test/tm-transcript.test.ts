// Recorded run 1 of opennebula-protocol.md §7.3: the real one_tm.rb (-t 1 -d gfs2clvm) driving a
// dummy echo driver. The harness must print the same lines, in the same order.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveLines, TmDriver } from '../src/index.js';
import { capture, makePrefix, type Prefix } from './helpers.js';

const IMG = '/var/lib/one//datastores/101/3f2b8c0e9d1a4b5c6d7e8f9a0b1c2d3e';
const PIMG = '/var/lib/one//datastores/101/aa11bb22cc33dd44ee55ff6677889900';
const VMDIR = '/var/lib/one//datastores/100/7';

const FILES: Record<string, string[]> = {
  'transfer.0.prolog': [
    `CLONE gfs2clvm one-fe:${IMG} one-node1:${VMDIR}/disk.0 7 101`,
    `LN gfs2clvm one-fe:${PIMG} one-node1:${VMDIR}/disk.1 7 101`,
    `MKSWAP gfs2clvm 1024 one-node1:${VMDIR}/disk.2 7 100`,
    `MKIMAGE gfs2clvm 2048 raw one-node1:${VMDIR}/disk.3 7 100`,
    '# a comment line',
    '   ',
    `CLONE.ssh gfs2clvm one-fe:${IMG} one-node1:${VMDIR}/disk.4 7 101`,
  ],
  'transfer.1.epilog': [
    `MVDS gfs2clvm one-node1:${VMDIR}/disk.1 ${PIMG} 7 101`,
    `DELETE gfs2clvm one-node1:${VMDIR}/disk.0 7 101`,
    `DELETE gfs2clvm one-node1:${VMDIR}/disk.2 7 100`,
    `DELETE gfs2clvm one-node1:${VMDIR} 7 100`,
  ],
  'transfer.2.fail': [
    `RESIZE gfs2clvm one-node1:${VMDIR}/disk.0 4096 7 101`,
    `CPDS_FAIL gfs2clvm one-node1:${VMDIR}/disk.0 /var/lib/one//datastores/101/newimg -1 7 101`,
    `DELETE gfs2clvm one-node1:${VMDIR}/disk.0 7 101`,
  ],
  'transfer.3.baddriver': [`CLONE nosuchdrv one-fe:${IMG} one-node1:${VMDIR}/disk.0 7 101`],
  'transfer.4.noscript': [
    `SNAP_CREATE.ssh gfs2clvm one-node1:${VMDIR}/disk.0 0 7 101`,
    'FOOBAR gfs2clvm a b',
  ],
  'transfer.5.special': [
    `CONTEXT gfs2clvm /var/lib/one/vms/7/context.sh /var/lib/one/files/a.sh:'init.sh' one-node1:${VMDIR}/disk.5 7 100`,
  ],
};

const STDIN = [
  'INIT',
  'TRANSFER 7 $PREFIX/vms/7/transfer.0.prolog',
  'TRANSFER 7 $PREFIX/vms/7/transfer.1.epilog',
  'TRANSFER 8 $PREFIX/vms/7/transfer.2.fail',
  'TRANSFER 9 $PREFIX/vms/7/transfer.3.baddriver',
  'TRANSFER 10 $PREFIX/vms/7/transfer.4.noscript',
  'TRANSFER 11 $PREFIX/vms/7/does-not-exist',
  'TRANSFER 12 $PREFIX/vms/7/transfer.5.special',
];

// Verbatim from §7.3.
const STDOUT = `INIT SUCCESS - -
LOG I -1 clone: a log line from the script
LOG I -1 ln: a log line from the script
LOG I -1 mkswap: a log line from the script
LOG I -1 mkimage: a log line from the script
LOG I -1 clone: a log line from the script
TRANSFER SUCCESS 7 -
LOG I -1 mvds: a log line from the script
LOG I -1 delete: a log line from the script
LOG I -1 delete: a log line from the script
LOG I -1 delete: a log line from the script
TRANSFER SUCCESS 7 -
LOG I -1 resize: a log line from the script
LOG I 8 Command execution failed (exit code: 1): $PREFIX/var/remotes/tm/gfs2clvm/cpds_fail one-node1:/var/lib/one//datastores/100/7/disk.0 /var/lib/one//datastores/101/newimg -1 7 101
LOG E 8 cpds_fail: Command "lvcreate -L1024M -n lv-one-7-0 vg-one-100" failed: Volume group not found
LOG I 8 Error creating LV named lv-one-7-0
LOG I 8 second plain stderr line
LOG E -1 cpds_fail: Command "lvcreate -L1024M -n lv-one-7-0 vg-one-100" failed: Volume group not found
TRANSFER FAILURE 8 Error creating LV named lv-one-7-0second plain stderr line
TRANSFER FAILURE 9 Transfer Driver 'nosuchdrv' not available
LOG I -1 snap_create: a log line from the script
TRANSFER FAILURE 10 Driver path '$PREFIX/var/remotes/tm/gfs2clvm/foobar' does not exists
TRANSFER FAILURE 11 Transfer file '$PREFIX/vms/7/does-not-exist' does not exist
LOG I -1 context: a log line from the script
TRANSFER SUCCESS 12 -
`;

describe('recorded run 1 (§7.3): one_tm.rb -t 1 -d gfs2clvm with a dummy echo driver', () => {
  let prefix: Prefix;
  beforeEach(() => {
    prefix = makePrefix();
    mkdirSync(join(prefix.vmsDir, '7'), { recursive: true });
    for (const [name, lines] of Object.entries(FILES)) {
      writeFileSync(join(prefix.vmsDir, '7', name), lines.map((line) => `${line}\n`).join(''));
    }
  });
  afterEach(() => prefix.remove());

  const driver = (output?: PassThrough) =>
    new TmDriver({
      remotesDir: prefix.remotesDir,
      concurrency: 1,
      drivers: ['gfs2clvm'],
      env: prefix.env,
      ...(output ? { output } : {}),
    });
  const expected = () => STDOUT.replaceAll('$PREFIX', prefix.dir);

  it('answers the recorded stdin with the recorded stdout, byte for byte (line protocol)', async () => {
    const input = new PassThrough();
    const out = capture();
    const tm = driver(out.stream);
    const served = serveLines(tm, input);
    input.write(`${STDIN.map((line) => line.replaceAll('$PREFIX', prefix.dir)).join('\n')}\nFINALIZE\n`);
    expect(await served).toBe(0);
    expect(out.text()).toBe(expected());
  });

  it('produces the same lines through the library API, with one result per TRANSFER', async () => {
    const tm = driver();
    const file = (name: string) => join(prefix.vmsDir, '7', name);
    await tm.init();
    const results = await Promise.all([
      tm.transfer(7, file('transfer.0.prolog')),
      tm.transfer(7, file('transfer.1.epilog')),
      tm.transfer(8, file('transfer.2.fail')),
      tm.transfer(9, file('transfer.3.baddriver')),
      tm.transfer(10, file('transfer.4.noscript')),
      tm.transfer(11, file('does-not-exist')),
      tm.transfer(12, file('transfer.5.special')),
    ]);
    expect(tm.lines.join('\n')).toBe(expected().trimEnd());
    expect(results.map((r) => r.reply)).toEqual(
      expected()
        .split('\n')
        .filter((l) => l.startsWith('TRANSFER ')),
    );

    const failed = results[2];
    expect(failed?.result).toBe('FAILURE');
    expect(failed?.info).toBe('Error creating LV named lv-one-7-0second plain stderr line');
    // RESIZE ran, CPDS_FAIL failed, the DELETE after it never ran.
    expect(failed?.commands.map((c) => [c.argv[0]?.split('/').at(-1), c.code])).toEqual([
      ['resize', 0],
      ['cpds_fail', 1],
    ]);
    expect(failed?.commands[1]?.stderr).toContain('second plain stderr line');
    expect(results[0]?.commands).toHaveLength(5);
  });

  it('gives the scripts the argv of the transfer lines, quotes literal, empty stdin', async () => {
    const tm = driver();
    await tm.transfer(7, join(prefix.vmsDir, '7', 'transfer.0.prolog'));
    await tm.transfer(7, join(prefix.vmsDir, '7', 'transfer.1.epilog'));
    await tm.transfer(12, join(prefix.vmsDir, '7', 'transfer.5.special'));
    expect(prefix.calls()).toEqual([
      ['clone', `one-fe:${IMG}`, `one-node1:${VMDIR}/disk.0`, '7', '101', 'stdin='],
      ['ln', `one-fe:${PIMG}`, `one-node1:${VMDIR}/disk.1`, '7', '101', 'stdin='],
      ['mkswap', '1024', `one-node1:${VMDIR}/disk.2`, '7', '100', 'stdin='],
      ['mkimage', '2048', 'raw', `one-node1:${VMDIR}/disk.3`, '7', '100', 'stdin='],
      // CLONE.ssh fell back to clone
      ['clone', `one-fe:${IMG}`, `one-node1:${VMDIR}/disk.4`, '7', '101', 'stdin='],
      ['mvds', `one-node1:${VMDIR}/disk.1`, PIMG, '7', '101', 'stdin='],
      ['delete', `one-node1:${VMDIR}/disk.0`, '7', '101', 'stdin='],
      ['delete', `one-node1:${VMDIR}/disk.2`, '7', '100', 'stdin='],
      ['delete', `one-node1:${VMDIR}`, '7', '100', 'stdin='],
      [
        'context',
        '/var/lib/one/vms/7/context.sh',
        "/var/lib/one/files/a.sh:'init.sh'",
        `one-node1:${VMDIR}/disk.5`,
        '7',
        '100',
        'stdin=',
      ],
    ]);
  });
});
