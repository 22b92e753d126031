import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  diskLocation,
  MAX_ID,
  normalizeAbsolutePath,
  parseDiskPath,
  parseId,
  parseTmArgument,
  parseVmDirPath,
  parseVmPath,
  splitHostPath,
  validateHostName,
  vmDirLocation,
} from '../src/paths.js';
import { codeOf } from './helpers.js';

describe('normalizeAbsolutePath', () => {
  it.each([
    ['/var/lib/one//datastores/0/7/disk.0', '/var/lib/one/datastores/0/7/disk.0'],
    ['//var///lib/', '/var/lib'],
    ['/', '/'],
    ['/a b/$(id)/`x`;|&', '/a b/$(id)/`x`;|&'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeAbsolutePath(input)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['relative/path', 'not absolute'],
    ['-rf', 'not absolute'],
    ['/var/lib/one/../../etc/shadow', '".." component'],
    ['/var/./lib', '"." component'],
    ['/var/lib\0/x', 'control character'],
    ['/var/lib\n/x', 'control character'],
    ['/var/lib\r', 'control character'],
    ['/var/\u001b[31m', 'control character'],
    [`/${'a'.repeat(256)}`, 'component over 255'],
    [`/${'a/'.repeat(2100)}`, 'longer than 4096'],
  ])('refuses %j (%s)', (input, words) => {
    expect(() => normalizeAbsolutePath(input)).toThrow(words);
    expect(codeOf(() => normalizeAbsolutePath(input))).toBe('INVALID_PATH');
  });

  it('keeps an error message short and on one line for a huge hostile value', () => {
    const hostile = `relative\n${'x'.repeat(1_000_000)}`;
    try {
      normalizeAbsolutePath(hostile);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(200);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

describe('validateHostName', () => {
  it.each(['node1', 'node-1.example.org', 'kvm_01', '10.0.2.15', 'a'])('accepts %j', (host) => {
    expect(validateHostName(host)).toBe(host);
  });
  it.each([
    '',
    '-oProxyCommand=sh',
    'node1 -p 22',
    'node1;id',
    'node1$(id)',
    'user@node1',
    'node1.',
    '.node1',
    'node-.x',
    'a'.repeat(64),
    `${'a.'.repeat(127)}a`,
    'ünïcode',
    '[::1]',
  ])('refuses %j', (host) => {
    expect(codeOf(() => validateHostName(host))).toBe('INVALID_PATH');
  });
});

describe('parseId', () => {
  it.each([
    ['0', 0],
    ['7', 7],
    [String(MAX_ID), MAX_ID],
  ])('%j → %d', (text, id) => {
    expect(parseId(text, 'VM id')).toBe(id);
  });
  it.each(['', '-1', '+1', '07', '1e3', '0x10', ' 7', '7 ', '1.5', String(MAX_ID + 1), '99999999999', 'NaN'])(
    'refuses %j',
    (text) => {
      expect(codeOf(() => parseId(text, 'VM id'))).toBe('INVALID_PATH');
    },
  );
});

describe('splitHostPath', () => {
  it('splits at the first colon and normalises the path', () => {
    expect(splitHostPath('node1:/var/lib/one//datastores/0/7/disk.0')).toEqual({
      host: 'node1',
      path: '/var/lib/one/datastores/0/7/disk.0',
    });
    expect(splitHostPath('fe:/var/lib/one/datastores/0/7/a:b')).toEqual({
      host: 'fe',
      path: '/var/lib/one/datastores/0/7/a:b',
    });
  });
  it.each([
    ['/var/lib/one/datastores/0/7', 'not host:path'],
    [':/var/lib/one/datastores/0/7', 'host name'],
    ['-oProxyCommand=x:/var/lib/one/datastores/0/7', 'host name'],
    ['node1:var/lib', 'not absolute'],
    ['node1:', 'empty'],
  ])('refuses %j', (argument, words) => {
    expect(() => splitHostPath(argument)).toThrow(words);
  });
});

describe('parseVmPath', () => {
  it('derives ids from a disk path with the `//` OpenNebula emits', () => {
    expect(parseVmPath('/var/lib/one//datastores/100/7/disk.0')).toEqual({
      kind: 'disk',
      datastoreLocation: '/var/lib/one/datastores',
      dsId: 100,
      vmId: 7,
      diskId: 0,
      dsDir: '/var/lib/one/datastores/100',
      vmDir: '/var/lib/one/datastores/100/7',
      diskPath: '/var/lib/one/datastores/100/7/disk.0',
      path: '/var/lib/one/datastores/100/7/disk.0',
    });
  });

  it('derives ids from a VM dir (trailing slash allowed)', () => {
    expect(parseVmPath('/var/lib/one/datastores/0/17/')).toEqual({
      kind: 'vmdir',
      datastoreLocation: '/var/lib/one/datastores',
      dsId: 0,
      vmId: 17,
      dsDir: '/var/lib/one/datastores/0',
      vmDir: '/var/lib/one/datastores/0/17',
      path: '/var/lib/one/datastores/0/17',
    });
  });

  it('honours a configured DATASTORE_LOCATION (normalised too)', () => {
    const location = parseVmPath('/srv/one/ds/101/3/disk.12', { datastoreLocation: '/srv//one/ds/' });
    expect(location).toMatchObject({
      kind: 'disk',
      dsId: 101,
      vmId: 3,
      diskId: 12,
      dsDir: '/srv/one/ds/101',
    });
  });

  it.each([
    ['/etc/shadow', 'OUTSIDE_DATASTORE'],
    ['/var/lib/one/datastores', 'OUTSIDE_DATASTORE'],
    ['/var/lib/one/datastores/100', 'OUTSIDE_DATASTORE'],
    ['/var/lib/one/datastores-evil/100/7', 'OUTSIDE_DATASTORE'],
    ['/var/lib/one/datastores/100/7/disk.0/x', 'OUTSIDE_DATASTORE'],
    ['/var/lib/one/datastores/100/7/deployment.0', 'OUTSIDE_DATASTORE'],
    ['/var/lib/one/datastores/100/7/disk.', 'OUTSIDE_DATASTORE'],
    ['/var/lib/one/datastores/100/7/disk.-1', 'OUTSIDE_DATASTORE'],
    ['/var/lib/one/datastores/100/7/.disk.0', 'OUTSIDE_DATASTORE'],
    ['/var/lib/one/datastores/100/7/disk.01', 'INVALID_PATH'],
    ['/var/lib/one/datastores/100/7/disk.99999999999', 'INVALID_PATH'],
    ['/var/lib/one/datastores/-1/7', 'INVALID_PATH'],
    ['/var/lib/one/datastores/abc/7', 'INVALID_PATH'],
    ['/var/lib/one/datastores/100/007', 'INVALID_PATH'],
    ['/var/lib/one/datastores/100/2147483648', 'INVALID_PATH'],
    ['/var/lib/one/datastores/100/..', 'INVALID_PATH'],
    ['/var/lib/one/datastores/100/7/../../../../etc', 'INVALID_PATH'],
    ['var/lib/one/datastores/100/7', 'INVALID_PATH'],
    ['/var/lib/one/datastores/100/7\n', 'INVALID_PATH'],
  ])('refuses %j with %s', (path, code) => {
    expect(codeOf(() => parseVmPath(path))).toBe(code);
  });

  it('refuses a bad DATASTORE_LOCATION', () => {
    expect(() => parseVmPath('/x/0/1', { datastoreLocation: 'relative' })).toThrow(
      'DATASTORE_LOCATION "relative" is not absolute',
    );
  });

  it('says in one line where the path must be', () => {
    expect(() => parseVmPath('/tmp/evil')).toThrow('path "/tmp/evil" is outside /var/lib/one/datastores');
  });
});

describe('parseDiskPath / parseVmDirPath', () => {
  it('insist on their kind', () => {
    expect(parseDiskPath('/var/lib/one/datastores/0/7/disk.1').diskId).toBe(1);
    expect(parseVmDirPath('/var/lib/one/datastores/0/7').vmId).toBe(7);
    expect(codeOf(() => parseDiskPath('/var/lib/one/datastores/0/7'))).toBe('OUTSIDE_DATASTORE');
    expect(codeOf(() => parseVmDirPath('/var/lib/one/datastores/0/7/disk.1'))).toBe('OUTSIDE_DATASTORE');
  });
});

describe('parseTmArgument', () => {
  it('parses the arguments oned builds from the recorded payloads (DATASTORE_LOCATION with //)', () => {
    const fixtures = join(import.meta.dirname, 'fixtures/opennebula');
    const vm = readFileSync(join(fixtures, 'vm-7.xml'), 'utf8');
    const monitor = readFileSync(join(fixtures, 'sysds-monitor-action-data.xml'), 'utf8');
    const datastoreLocation = /<DATASTORE_LOCATION>([^<]+)</.exec(monitor)?.[1] ?? '';
    expect(datastoreLocation).toBe('/var/lib/one//datastores');
    const vmId = Number(/^<VM><ID>(\d+)</.exec(vm)?.[1]);
    const host = /<HOSTNAME>([^<]+)</.exec(vm)?.[1] ?? '';
    const sysDs = Number(/<HISTORY>.*?<DS_ID>(\d+)</.exec(vm)?.[1]);
    const diskIds = [...vm.matchAll(/<DISK_ID><!\[CDATA\[(\d+)\]\]><\/DISK_ID>/g)].map((m) => Number(m[1]));
    expect({ vmId, host, sysDs, diskIds }).toEqual({
      vmId: 7,
      host: 'node1',
      sysDs: 100,
      diskIds: [0, 1, 2, 3],
    });
    for (const diskId of diskIds) {
      const argument = `${host}:${datastoreLocation}/${sysDs}/${vmId}/disk.${diskId}`;
      expect(parseTmArgument(argument, { datastoreLocation })).toMatchObject({
        host,
        kind: 'disk',
        dsId: sysDs,
        vmId,
        diskId,
        diskPath: `/var/lib/one/datastores/100/7/disk.${diskId}`,
      });
    }
    expect(parseTmArgument(`${host}:${datastoreLocation}/${sysDs}/${vmId}`, { datastoreLocation }).kind).toBe(
      'vmdir',
    );
  });

  it('refuses a hostile host before looking at the path', () => {
    expect(() => parseTmArgument('node1;reboot:/var/lib/one/datastores/0/7/disk.0')).toThrow(
      'host name "node1;reboot" is not valid',
    );
  });
});

describe('vmDirLocation / diskLocation', () => {
  it('build the same locations the parser derives', () => {
    const dir = vmDirLocation('/var/lib/one//datastores', 100, 7);
    expect(dir).toEqual(parseVmPath('/var/lib/one/datastores/100/7'));
    expect(diskLocation(dir, 3)).toEqual(parseVmPath('/var/lib/one/datastores/100/7/disk.3'));
  });
  it.each([-1, 1.5, Number.NaN, MAX_ID + 1, Number.POSITIVE_INFINITY])('refuses id %d', (id) => {
    expect(codeOf(() => vmDirLocation('/var/lib/one/datastores', id, 1))).toBe('INVALID_PATH');
    expect(codeOf(() => diskLocation(vmDirLocation('/d', 0, 1), id))).toBe('INVALID_PATH');
  });
});
