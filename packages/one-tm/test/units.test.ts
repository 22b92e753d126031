import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  configFromValues,
  DEFAULTS,
  DriverError,
  isFrontEnd,
  mkfsArgv,
  type OneClient,
  parseConfigText,
  parseDatastoreXml,
  parseHostPoolXml,
  parseImageSource,
  parseSizeMiB,
  parseVmXml,
  pickWorkHost,
  storageFor,
} from '@one-gfs2clvm/driver-runtime';
import { capture, noOned } from '@one-gfs2clvm/driver-runtime/testing';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { describe, expect, it } from 'vitest';
import { parseContextFile } from '../src/actions/context-iso.js';
import { linkTarget } from '../src/actions/delete.js';
import { runAction, SUPPORTED_ACTIONS, TM_ACTIONS } from '../src/index.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

async function run(action: string, argv: string[]) {
  const io = capture();
  const code = await runAction(action, argv, {
    stdin: Readable.from([]),
    stdout: io.stdout,
    stderr: io.stderr,
    configPath: '/nonexistent',
    config: { ...structuredClone(DEFAULTS), frontendHosts: ['fe'] },
    one: noOned,
    connect: (host) => {
      throw new Error(`no host ${host} in this test`);
    },
  });
  return { code, ...io.text() };
}

const plainLines = (err: string) =>
  err.split('\n').filter((l) => l !== '' && !/^(ERROR|INFO|DEBUG):/.test(l));

describe('action list', () => {
  it('has every action oned emits (protocol §2.2), each once', () => {
    for (const name of [
      'clone',
      'ln',
      'mkimage',
      'mkswap',
      'delete',
      'mv',
      'mvds',
      'cpds',
      'context',
      'premigrate',
      'postmigrate',
      'failmigrate',
      'resize',
      'monitor',
      'snap_create',
      'snap_create_live',
      'snap_delete',
      'snap_revert',
      'prebackup',
      'prebackup_live',
      'postbackup',
      'postbackup_live',
      'restore',
    ])
      expect(TM_ACTIONS).toContain(name);
    expect(new Set(TM_ACTIONS).size).toBe(TM_ACTIONS.length);
  });
});

describe('dispatcher: one plain line, exit codes', () => {
  it.each(['prebackup_live', 'postbackup_live', 'restore'])(
    '%s is unsupported: one line, exit 1',
    async (action) => {
      const r = await run(action, ['node1:/var/lib/one/datastores/100/7/disk.0', '0', '7', '100']);
      expect(r.code).toBe(1);
      expect(plainLines(r.err)).toHaveLength(1);
      expect(r.err).toMatch(new RegExp(`^${action}: .*not supported`));
    },
  );

  it('an unknown action name is one line', async () => {
    const r = await run('foobar\n;rm', []);
    expect(r.code).toBe(1);
    expect(r.err).toBe('foobar ;rm: not a gfs2clvm TM action\n');
  });

  it.each(SUPPORTED_ACTIONS.filter((a) => a !== 'context'))(
    '%s with no arguments is a usage error (exit 2)',
    async (action) => {
      const r = await run(action, []);
      expect(r.code).toBe(2);
      expect(plainLines(r.err)).toEqual([
        expect.stringMatching(new RegExp(`^${action}: expected [0-9 or]+ arguments, got 0`)),
      ]);
    },
  );

  it.each([
    [
      'clone',
      ['fe:vg-one-101/lv-oneimg-4', 'node1:/var/lib/one//datastores/100/7/../../x/disk.0', '7', '101'],
      /has a "\.\." component/,
    ],
    [
      'clone',
      ['fe:vg-one-101/lv-oneimg-4', '-oProxyCommand=x:/var/lib/one/datastores/100/7/disk.0', '7', '101'],
      /host name "-oProxyCommand=x" is not valid/,
    ],
    [
      'clone',
      ['fe:vg-one-101/lv-oneimg-4', 'node1:/etc/shadow', '7', '101'],
      /outside \/var\/lib\/one\/datastores/,
    ],
    [
      'clone',
      ['fe:vg;reboot/lv', 'node1:/var/lib/one/datastores/100/7/disk.0', '7', '101'],
      /is not <vg>\/<lv>/,
    ],
    [
      'clone',
      ['fe:vg-one-101/lv-oneimg-4', 'node1:/var/lib/one/datastores/100/7/disk.0', '8', '101'],
      /VM id 8 does not match/,
    ],
    [
      'clone',
      ['fe:vg-one-101/lv-oneimg-4', 'fe:/var/lib/one/datastores/100/7/disk.0', '7', '101'],
      /cannot see the SAN/,
    ],
    ['mkimage', ['-1', 'raw', 'node1:/var/lib/one/datastores/100/7/disk.0', '7', '100'], /not a size in MiB/],
    [
      'mkimage',
      ['10', 'raw;x', 'node1:/var/lib/one/datastores/100/7/disk.0', '7', '100'],
      /not a disk format/,
    ],
    ['delete', ['node1:/var/lib/one/datastores/100/07/disk.0', '7', '100'], /VM id "07" is not an id/],
    [
      'premigrate',
      ['node1', 'node1', '/var/lib/one/datastores/100/7', '7', '100'],
      /source and destination are both node1/,
    ],
    ['resize', ['node1:/var/lib/one/datastores/100/7/disk.0', '1e3', '7', '100'], /not a size in MiB/],
    [
      'cpds',
      ['node1:/var/lib/one/datastores/100/7/disk.0', 'vg-one-101/lv-oneimg-9', '-3', '7', '101'],
      /snapshot id "-3" is not an id/,
    ],
  ] as const)('%s %j: one clear line, exit 1', async (action, argv, message) => {
    const r = await run(action, [...argv]);
    expect(r.code).toBe(1);
    const lines = plainLines(r.err);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('premigrate called back by another driver (6th word) does nothing', async () => {
    const r = await run('premigrate', [
      'node1',
      'node2',
      '/var/lib/one/datastores/100/7',
      '7',
      '100',
      'shared',
    ]);
    expect(r).toMatchObject({ code: 0, err: '' });
  });
});

describe('configuration', () => {
  it('parses KEY=VALUE with comments and quotes, over the defaults', () => {
    const c = configFromValues(
      parseConfigText(
        '# c\n\nLVM_BACKEND=lvm\nLVM_PREFIX="sudo -n lvm"\nZERO_ON_DELETE=no\nBRIDGE_LIST=node1 node2\n',
      ),
    );
    expect(c.lvmBackend).toBe('lvm');
    expect(c.lvmPrefix).toEqual(['sudo', '-n', 'lvm']);
    expect(c.storage).toMatchObject({
      zeroOnDelete: false,
      zeroOnCreate: true,
      bridgeList: ['node1', 'node2'],
    });
    expect(c.sshHostKeyPolicy).toBe('strict');
  });

  it.each([
    ['X', /line 1: not KEY=VALUE/],
    ['lower=1', /not KEY=VALUE/],
    ['LVM_BACKEND=sh', /not one of helper, lvm/],
    ['ZERO_ON_CREATE=maybe', /not yes or no/],
    ['SSH_CONFIG=relative', /not an absolute path/],
    ['VG_NAM=x', /unknown setting VG_NAM/],
    ['SSH_USER="a b"', /not a user name/],
    ['A="x', /unbalanced quotes/],
  ])('refuses %j', (text, message) => {
    expect(() => configFromValues(parseConfigText(text))).toThrow(message);
  });

  it('datastore template attributes override the storage settings only', () => {
    const c = configFromValues(parseConfigText('ZERO_ON_CREATE=yes\nVG_NAME=vg-a'));
    expect(
      storageFor(c, { ZERO_ON_CREATE: 'NO', VG_NAME: 'vg-b', BRIDGE_LIST: 'h1,h2', SSH_USER: 'root' }),
    ).toEqual({
      vgName: 'vg-b',
      bridgeList: ['h1', 'h2'],
      zeroOnCreate: false,
      zeroOnDelete: true,
      thinProvisioning: false,
      urlAllowNets: [],
    });
  });

  it('URL_ALLOW_NETS: driver-wide networks, replaced (not added to) by the datastore template', () => {
    const c = configFromValues(parseConfigText('URL_ALLOW_NETS="10.1.0.0/16, fd00::/8"'));
    expect(c.storage.urlAllowNets).toEqual(['10.1.0.0/16', 'fd00::/8']);
    expect(storageFor(c, {}).urlAllowNets).toEqual(['10.1.0.0/16', 'fd00::/8']);
    expect(storageFor(c, { URL_ALLOW_NETS: '127.0.0.1/32' }).urlAllowNets).toEqual(['127.0.0.1/32']);
    expect(c.storage.urlAllowNets).toEqual(['10.1.0.0/16', 'fd00::/8']);
  });
});

describe('oned XML', () => {
  it('reads the disks, LCM state and last host of vm-7.xml', () => {
    const vm = parseVmXml(fixture('vm-7.xml'));
    expect(vm).toMatchObject({ id: 7, lcmState: 3, lastHost: 'node1' });
    expect(vm.disks.map((d) => [d.id, d.type, d.sizeMiB, d.persistent])).toEqual([
      [0, 'BLOCK', 2048, false],
      [1, 'BLOCK', 512, true],
      [2, 'swap', 1024, false],
      [3, 'fs', 2048, false],
    ]);
    expect(vm.disks[3]?.fs).toBe('ext4');
  });

  it('reads datastores and host pools', () => {
    const ds = parseDatastoreXml(
      '<DATASTORE><ID>100</ID><NAME>sys</NAME><TYPE>1</TYPE><CLUSTERS><ID>0</ID><ID>3</ID></CLUSTERS><TEMPLATE><VG_NAME><![CDATA[vg-x]]></VG_NAME></TEMPLATE></DATASTORE>',
    );
    expect(ds).toMatchObject({ id: 100, type: 1, clusterIds: [0, 3], template: { VG_NAME: 'vg-x' } });
    expect(
      parseHostPoolXml(
        '<HOST_POOL><HOST><ID>0</ID><NAME>n1</NAME><STATE>2</STATE><CLUSTER_ID>0</CLUSTER_ID></HOST></HOST_POOL>',
      ),
    ).toEqual([{ id: 0, name: 'n1', state: 2, clusterId: 0 }]);
    expect(() => parseVmXml('<VM><NAME>x</NAME></VM>')).toThrow(DriverError);
  });
});

describe('decisions', () => {
  const hosts: OneClient = {
    ...noOned,
    hosts: async () => [
      { id: 0, name: 'node1', state: 2, clusterId: 0 },
      { id: 1, name: 'node2', state: 4, clusterId: 0 }, // disabled
      { id: 2, name: 'node3', state: 2, clusterId: 0 },
      { id: 3, name: 'other', state: 2, clusterId: 9 },
    ],
  };
  const config = { ...structuredClone(DEFAULTS), frontendHosts: ['fe'] };

  it('picks a usable BRIDGE_LIST host, else a usable host of the cluster, spread by the seed', async () => {
    const storage = { ...config.storage, bridgeList: ['node2', 'node3'] };
    expect(await pickWorkHost(hosts, storage, [0], 0, config)).toBe('node3');
    expect(await pickWorkHost(hosts, config.storage, [0], 0, config)).toBe('node1');
    expect(await pickWorkHost(hosts, config.storage, [0], 1, config)).toBe('node3');
    await expect(pickWorkHost(hosts, { ...storage, bridgeList: ['node2'] }, [0], 0, config)).rejects.toThrow(
      /no usable host in BRIDGE_LIST/,
    );
  });

  it('knows the front-end by configured names and its own host name', () => {
    expect(isFrontEnd('fe', config)).toBe(true);
    expect(isFrontEnd('node1', config)).toBe(false);
  });

  it('parses image sources, sizes, link targets, context file names', () => {
    expect(parseImageSource('fe:vg-one-101/lv-oneimg-4')).toEqual({ vg: 'vg-one-101', lv: 'lv-oneimg-4' });
    expect(parseImageSource('vg-one-101/lv-oneimg-4')).toEqual({ vg: 'vg-one-101', lv: 'lv-oneimg-4' });
    expect(() => parseImageSource('fe:/var/lib/one/datastores/1/abc')).toThrow(/not <vg>\/<lv>/);
    expect(() => parseImageSource('fe:vg/-rf')).toThrow(DriverError);
    expect(parseSizeMiB('2048')).toBe(2048);
    for (const bad of ['0', '-5', '1.5', '', '99999999999', '0x10'])
      expect(() => parseSizeMiB(bad)).toThrow(/not a size/);
    expect(linkTarget('/dev/vg-one-100/lv-one-7-0')).toEqual({ vg: 'vg-one-100', lv: 'lv-one-7-0' });
    expect(linkTarget('/etc/passwd')).toBeNull();
    expect(linkTarget('/dev/../etc/x')).toBeNull();
    expect(parseContextFile("/var/lib/one/files/a.sh:'init.sh'")).toEqual({
      path: '/var/lib/one/files/a.sh',
      name: 'init.sh',
    });
    expect(parseContextFile('/var/lib/one/vms/7/context.sh')).toEqual({
      path: '/var/lib/one/vms/7/context.sh',
      name: 'context.sh',
    });
    expect(() => parseContextFile("/x:'../../etc/passwd'")).toThrow(/not a plain file name/);
    expect(() => parseContextFile('relative')).toThrow(/not absolute/);
    expect(mkfsArgv('ext4', '/dev/v/l')).toEqual(['mkfs', '-t', 'ext4', '-F', '-q', '/dev/v/l']);
    expect(mkfsArgv('xfs', '/dev/v/l')).toEqual(['mkfs', '-t', 'xfs', '-f', '-q', '/dev/v/l']);
  });
});

// The whole of stderr, byte for byte, on each path of the dispatcher (one-image runs the same skeleton).
describe('dispatcher: the exact stderr of each path', () => {
  it('an unsupported action: its one line only, exit 1', async () => {
    const r = await run('restore', ['x']);
    expect(r).toEqual({ code: 1, out: '', err: 'restore: backups not supported by gfs2clvm\n' });
  });

  it('a usage error: the ERROR diagnostic, then the plain line; exit 2', async () => {
    const r = await run('mkswap', []);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatchInlineSnapshot(`
      "ERROR: mkswap: TmError [USAGE]: mkswap: expected 4 arguments, got 0: <size MiB> host:<ds dir>/<vm>/disk.<n> <vm id> <sys ds id>
      mkswap: expected 4 arguments, got 0: <size MiB> host:<ds dir>/<vm>/disk.<n> <vm id> <sys ds id>
      "
    `);
  });

  it('a configuration file that does not parse: its line, exit 1, no host connected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tm-conf-'));
    try {
      writeFileSync(join(dir, 'gfs2clvm.conf'), 'LVM_BACKEND=zfs\n');
      const io = capture();
      const code = await runAction(
        'mkswap',
        ['node1:/var/lib/one/datastores/100/7/disk.1', '64', '7', '100'],
        {
          stdin: Readable.from([]),
          stdout: io.stdout,
          stderr: io.stderr,
          configPath: join(dir, 'gfs2clvm.conf'),
          one: noOned,
          connect: (host) => {
            throw new Error(`no host ${host} in this test`);
          },
        },
      );
      expect(code).toBe(1);
      expect(io.text().err).toMatchInlineSnapshot(`
        "ERROR: mkswap: TmError [CONFIG]: LVM_BACKEND=zfs: not one of helper, lvm
        LVM_BACKEND=zfs: not one of helper, lvm
        "
      `);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an error without a code: internal error, its stack among the diagnostics', async () => {
    const r = await run('delete', ['node1:/var/lib/one/datastores/100/7/disk.0', '7', '100']);
    expect(r.code).toBe(1);
    expect(r.err.replace(/ {5}at .*$/gm, ' at …')).toMatchInlineSnapshot(`
      "ERROR: delete: Error: no oned in this test (asked: datastore)
      ERROR: delete: Error: no oned in this test (asked: datastore) at …
      internal error: no oned in this test (asked: datastore)
      "
    `);
  });

  it('a failed host command: diagnostics with argv and stderr, one plain line; the connection closed', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on(() => true, { exitCode: 5, stderr: 'boom\nsecond line' });
    const io = capture();
    const code = await runAction('delete', ['node1:/var/lib/one/datastores/100/7/disk.0', '7', '100'], {
      stdin: Readable.from([]),
      stdout: io.stdout,
      stderr: io.stderr,
      configPath: '/nonexistent',
      config: { ...structuredClone(DEFAULTS), frontendHosts: ['fe'], debug: true },
      one: {
        ...noOned,
        datastore: async (id) => ({ id, name: 'system', template: {}, clusterIds: [0] }) as never,
      },
      connect: () => fake,
    });
    expect(code).toBe(1);
    expect(io.text().out).toBe('');
    expect(io.text().err.replace(/ in \d+ ms$/gm, ' in … ms')).toMatchInlineSnapshot(`
      "DEBUG: delete: node1: find /var/lib/one/datastores/100/7/disk.0 -maxdepth 0 -printf %y\\t%l\\n → exit 5 in … ms
      ERROR: delete: Gfs2Error [EXEC]: readlink /var/lib/one/datastores/100/7/disk.0 on node1: boom (exit 5)
      readlink /var/lib/one/datastores/100/7/disk.0 on node1: boom (exit 5)
      "
    `);
    expect(fake.closeCount).toBe(1);
  });
});
