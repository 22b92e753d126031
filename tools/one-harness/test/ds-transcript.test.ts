// Recorded run 2 of opennebula-protocol.md §7.4: the real one_datastore.rb
// (-d gfs2clvm,gfs2fail -s gfs2clvm) driving dummy DS scripts.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { base64, DsDriver, dsActionData, serveLines } from '../src/index.js';
import { capture, usePrefix } from './helpers.js';

/** An image action on image datastore 101 (TM gfs2clvm) for driver `dsMad`, `before` opening its XML. */
const imageAction = (before: string, dsMad = 'gfs2clvm') =>
  dsActionData({ dsMad, tmMad: 'gfs2clvm', id: 101, before });

const STAT = imageAction('<IMAGE><PATH>/tmp/x</PATH></IMAGE>');
const CP = imageAction('<IMAGE><ID>42</ID></IMAGE>');
const MONITOR_IMAGE_DS = dsActionData({ dsMad: 'gfs2clvm', tmMad: 'gfs2clvm', id: 101 });
const MONITOR_SYSTEM_DS = dsActionData({
  dsMad: '-',
  tmMad: 'gfs2clvm',
  type: 1,
  id: 100,
  after:
    '<DATASTORE_LOCATION>/var/lib/one//datastores</DATASTORE_LOCATION><MONITOR_VM_DISKS>1</MONITOR_VM_DISKS>',
});
const RM_FAIL = imageAction('<IMAGE><ID>42</ID></IMAGE>', 'gfs2fail');
const CP_NOSUCH = dsActionData({ dsMad: 'nosuch', tmMad: 'gfs2clvm', id: 102 });

const STDIN = [
  'INIT',
  `STAT 0 ${base64(STAT)}`,
  `CP 42 ${base64(CP)}`,
  `MONITOR 101 ${base64(MONITOR_IMAGE_DS)}`,
  `MONITOR 100 ${base64(MONITOR_SYSTEM_DS)}`,
  `RM 42 ${base64(RM_FAIL)}`,
  `CP 43 ${base64(CP_NOSUCH)}`,
];

// Verbatim from §7.4.
const STDOUT = `INIT SUCCESS - -
STAT SUCCESS 0 1024
CP SUCCESS 42 /var/lib/one/datastores/1/0123456789abcdef raw
MONITOR SUCCESS 101 VVNFRF9NQj0xMApGUkVFX01CPTkwClRPVEFMX01CPTEwMAo=
MONITOR SUCCESS 100 VVNFRF9NQj0xMApGUkVFX01CPTkwClRPVEFMX01CPTEwMAo=
LOG I 42 Command execution failed (exit code: 255): $PREFIX/var/remotes/datastore/gfs2fail/rm 42
LOG E 42 rm: Command "rm -rf /x" failed: Permission denied
LOG I 42 Error deleting /x
LOG E -1 rm: Command "rm -rf /x" failed: Permission denied
RM FAILURE 42 Error deleting /x
CP FAILURE 43 Datastore driver 'nosuch' not available
`;

describe('recorded run 2 (§7.4): one_datastore.rb -d gfs2clvm,gfs2fail -s gfs2clvm', () => {
  const prefix = usePrefix();

  const driver = (output?: PassThrough) =>
    new DsDriver({
      remotesDir: prefix().remotesDir,
      concurrency: 1,
      drivers: ['gfs2clvm', 'gfs2fail'],
      systemDrivers: ['gfs2clvm'],
      env: prefix().env,
      ...(output ? { output } : {}),
    });

  it('answers the recorded stdin with the recorded stdout, byte for byte (line protocol)', async () => {
    const input = new PassThrough();
    const out = capture();
    const served = serveLines(driver(out.stream), input);
    input.write(`${STDIN.join('\n')}\nFINALIZE\n`);
    expect(await served).toBe(0);
    expect(out.text()).toBe(STDOUT.replaceAll('$PREFIX', prefix().dir));
  });

  it('gives scripts argv [id] and the still-base64 XML on stdin with no newline; system-DS MONITOR runs tm/<TM_MAD>/monitor', async () => {
    const ds = driver();
    await ds.dsAction('STAT', 0, STAT);
    await ds.dsAction('CP', 42, CP);
    await ds.dsAction('MONITOR', 101, MONITOR_IMAGE_DS);
    await ds.dsAction('MONITOR', 100, MONITOR_SYSTEM_DS);
    const b64 = (xml: string) => `stdin=${base64(base64(xml))}`;
    expect(prefix().calls()).toEqual([
      ['stat', '0', b64(STAT)],
      ['cp', '42', b64(CP)],
      ['monitor', '101', b64(MONITOR_IMAGE_DS)],
      ['tm-monitor', '100', b64(MONITOR_SYSTEM_DS)],
    ]);
  });

  it('base64-encodes MONITOR output: the reply decodes to the script stdout, newlines included', async () => {
    const result = await driver().dsAction('MONITOR', 101, MONITOR_IMAGE_DS);
    expect(result.reply).toMatch(/^MONITOR SUCCESS 101 [A-Za-z0-9+/=]+$/);
    expect(Buffer.from(result.info ?? '', 'base64').toString()).toBe(
      'USED_MB=10\nFREE_MB=90\nTOTAL_MB=100\n',
    );
    expect(result.commands[0]?.stdout).toBe('USED_MB=10\nFREE_MB=90\nTOTAL_MB=100\n');
  });
});
