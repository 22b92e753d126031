import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDsActionData } from '../src/action-data.js';
import { DsError } from '../src/errors.js';
import { assertNotInVmDir, type ImageSource, parseImageSource, sourceForLog } from '../src/source.js';

const opts = { datastoreLocation: '/var/lib/one/datastores' };
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function parse(path: string): ImageSource | string {
  try {
    return parseImageSource(path, opts);
  } catch (error) {
    if (DsError.isInstance(error)) {
      expect(['\n', '\r', '\u0000'].some((c) => error.message.includes(c))).toBe(false);
      expect(error.message.length).toBeLessThan(200);
      return `${error.code}: ${error.message}`;
    }
    throw error;
  }
}

describe('parseImageSource: accepted sources', () => {
  it.each([
    ['lvm://7/0', { kind: 'vm-disk', vmId: 7, diskId: 0 }],
    ['snapshot://7/1', { kind: 'vm-disk', vmId: 7, diskId: 1 }],
    ['LVM://12/3', { kind: 'vm-disk', vmId: 12, diskId: 3 }],
    ['lvm://2147483647/2147483647', { kind: 'vm-disk', vmId: 2147483647, diskId: 2147483647 }],
    ['vol://400', { kind: 'image', imageId: 400 }],
    ['image://0', { kind: 'image', imageId: 0 }],
    ['/var/tmp/upload-7f3a2c', { kind: 'frontend-file', path: '/var/tmp/upload-7f3a2c' }],
    ['//var//tmp///x.qcow2/', { kind: 'frontend-file', path: '/var/tmp/x.qcow2' }],
    // The FE path /var/lib/one/datastores-old is not under /var/lib/one/datastores (whole components).
    ['/var/lib/one/datastores-old/x', { kind: 'frontend-file', path: '/var/lib/one/datastores-old/x' }],
    [
      '/var/lib/one/datastores/import/ttylinux.img',
      { kind: 'host-path', path: '/var/lib/one/datastores/import/ttylinux.img' },
    ],
    [
      '/var/lib/one//datastores/import/a.qcow2',
      { kind: 'host-path', path: '/var/lib/one/datastores/import/a.qcow2' },
    ],
    [
      '/var/lib/one/datastores/102/ttylinux.img',
      { kind: 'host-path', path: '/var/lib/one/datastores/102/ttylinux.img' },
    ],
  ])('%s', (path, expected) => {
    expect(parse(path)).toEqual(expected);
  });

  it('shell metacharacters are legal in file names and kept verbatim (argv end to end)', () => {
    for (const name of [
      'a b (1).qcow2',
      '$(reboot)',
      '`id`',
      'x;rm -rf ~',
      "it's",
      'a|b&c>d<e',
      '*?[]{}!#~',
    ]) {
      expect(parse(`/var/tmp/${name}`)).toEqual({ kind: 'frontend-file', path: `/var/tmp/${name}` });
    }
  });

  it('http and https URLs, kept as a URL object', () => {
    const result = parse('https://images.example.org:8443/debian/12.qcow2?sig=abc#frag');
    expect(result).toMatchObject({ kind: 'url' });
    const url = (result as { url: URL }).url;
    expect(url.href).toBe('https://images.example.org:8443/debian/12.qcow2?sig=abc#frag');
    expect(parse('http://10.0.0.5/img.raw')).toMatchObject({ kind: 'url' });
    expect(parse('HTTPS://example.org/a')).toMatchObject({ kind: 'url' });
  });

  it('the other DATASTORE_LOCATION is honoured (and normalised)', () => {
    expect(parseImageSource('/srv/gfs2/import/a.img', { datastoreLocation: '/srv//gfs2/' })).toEqual({
      kind: 'host-path',
      path: '/srv/gfs2/import/a.img',
    });
    expect(
      parseImageSource('/var/lib/one/datastores/import/a.img', { datastoreLocation: '/srv/gfs2' }),
    ).toEqual({
      kind: 'frontend-file',
      path: '/var/lib/one/datastores/import/a.img',
    });
  });

  it('each cp fixture classifies as its kind', () => {
    const kinds = Object.fromEntries(
      ['cp-url', 'cp-frontend-file', 'cp-host-path', 'cp-lvm', 'cp-snapshot', 'cp-vol', 'cp-image'].map(
        (name) => {
          const { image } = parseDsActionData(fixture(`${name}.xml`), 'cp');
          return [name, parseImageSource(image.path, opts).kind];
        },
      ),
    );
    expect(kinds).toEqual({
      'cp-url': 'url',
      'cp-frontend-file': 'frontend-file',
      'cp-host-path': 'host-path',
      'cp-lvm': 'vm-disk',
      'cp-snapshot': 'vm-disk',
      'cp-vol': 'image',
      'cp-image': 'image',
    });
  });
});

describe('parseImageSource: hostile input', () => {
  it.each([
    ['', /^INVALID_ARGUMENT: PATH is empty/],
    ['relative/file.img', /^INVALID_ARGUMENT: PATH "relative\/file.img" is not absolute/],
    ['-oProxyCommand=x', /^INVALID_ARGUMENT: PATH "-oProxyCommand=x" is not absolute/],
    ['--help', /^INVALID_ARGUMENT: .* is not absolute/],
    ['~/x.img', /is not absolute/],
    ['/var/tmp/../../etc/shadow', /^INVALID_ARGUMENT: .* has a "\.\." component/],
    ['/var/tmp/./x', /has a "\." component/],
    ['/var/lib/one/datastores/import/../../../../etc/shadow', /has a "\.\." component/],
    ['/var/tmp/a\u0000b', /^INVALID_ARGUMENT: .* contains a control character/],
    ['/var/tmp/a\nb', /contains a control character/],
    ['/var/tmp/a\rb', /contains a control character/],
    ['/var/tmp/\u001b[31mred', /contains a control character/],
    ['/var/tmp/a\u0085b', /contains a control character/],
    [`/var/tmp/${'a'.repeat(4100)}`, /longer than 4096/],
    [`/var/tmp/${'a'.repeat(256)}`, /component over 255/],
    ['/var/lib/one/datastores', /^INVALID_ARGUMENT: .* is DATASTORE_LOCATION itself/],
    ['/var/lib/one/datastores/', /is DATASTORE_LOCATION itself/],
  ])('path %j', (path, message) => {
    expect(parse(path)).toMatch(message);
  });

  it.each([
    '/var/lib/one/datastores/100/7/disk.0',
    '/var/lib/one/datastores/100/7/checkpoint',
    '/var/lib/one//datastores/100/7',
    '/var/lib/one/datastores/0/12/disk.1.iso',
  ])('a file in a VM directory is FORBIDDEN (other VMs’ disks and memory): %s', (path) => {
    expect(parse(path)).toMatch(
      /^FORBIDDEN: PATH .* is in the directory of VM [0-9]+: import its disks with lvm:\/\//,
    );
  });

  it.each([
    'lvm://7/../1',
    'lvm://-1/0',
    'lvm://7/-0',
    'lvm://+7/0',
    'lvm://07/0',
    'lvm://7/00',
    'lvm://7',
    'lvm://7/',
    'lvm://7/0/',
    'lvm:///7/0',
    'lvm://7//0',
    'lvm://7/0?x',
    'lvm://7/0#x',
    'lvm://7/0;reboot',
    'lvm://7/0 ',
    'lvm:7/0',
    'lvm://0x7/0',
    'lvm://7/1e3',
    'lvm://a/b',
    'snapshot://7',
  ])('vm disk %j', (path) => {
    expect(parse(path)).toMatch(/^INVALID_ARGUMENT: PATH .* is not (lvm|snapshot):\/\/<vm id>\/<disk id>/);
  });

  it.each(['lvm://2147483648/0', 'lvm://0/2147483648', 'lvm://9999999999/0', 'vol://4294967296'])(
    'ids beyond 2^31-1: %s',
    (path) => {
      expect(parse(path)).toMatch(
        /^INVALID_ARGUMENT: PATH .*: (VM|disk|image) id is not an id \(0…2147483647\)/,
      );
    },
  );

  it.each(['lvm://99999999999999999999/0', 'vol://12345678901'])(
    'ids with more than 10 digits: %s',
    (path) => {
      expect(parse(path)).toMatch(/^INVALID_ARGUMENT: PATH .* is not (lvm|vol):\/\//);
    },
  );

  it.each([
    'vol://abc',
    'vol://',
    'vol://-1',
    'vol://01',
    'vol://1/2',
    'vol://1 ',
    'image://1.5',
    'vol://$(id)',
  ])('image %j', (path) => {
    expect(parse(path)).toMatch(/^INVALID_ARGUMENT: PATH .* is not (vol|image):\/\/<image id>/);
  });

  it.each([
    ['file:///etc/shadow', 'file'],
    ['file://', 'file'],
    ['ftp://example.org/x.img', 'ftp'],
    ['s3://bucket/x', 's3'],
    ['ssh://host/x', 'ssh'],
    ['docker://debian', 'docker'],
    ['javascript:alert(1)', 'javascript'],
    ['C:\\images\\x.img', 'c'],
  ])('other schemes are UNSUPPORTED: %s', (path, scheme) => {
    expect(parse(path)).toMatch(new RegExp(`^UNSUPPORTED: PATH .*: ${scheme}:// not supported`));
  });

  it.each([
    ['http://user:secret@example.org/x.img', 'http://example.org/x.img'],
    ['https://token@example.org/x.img?sig=1', 'https://example.org/x.img?…'],
  ])('a URL with credentials is refused, and the message never shows them: %s', (url, shown) => {
    const result = parse(url);
    expect(result).toBe(`INVALID_ARGUMENT: PATH "${shown}": URL with user:password not accepted`);
    expect(result).not.toMatch(/secret|token/);
  });

  it.each([
    ['http://example.org/a b.img', /white space in a URL/],
    ['http://exa mple.org/a', /white space in a URL/],
    ['http://exa\nmple.org/a', /control character/],
    ['https://example.org/a\u0000', /control character/],
    ['http://\texample.org/', /control character/],
    ['http://', /is not a valid URL/],
    ['https:///path-only', /is not a valid URL/],
    ['http:\\\\example.org\\x', /is not a valid URL/],
    ['http:example.org', /is not a valid URL/],
    ['http://[::1/x', /is not a valid URL/],
  ])('malformed URL %j', (url, message) => {
    const result = parse(url);
    expect(result).toMatch(/^INVALID_ARGUMENT: /);
    expect(result).toMatch(message);
  });

  it('an invalid DATASTORE_LOCATION is a CONFIG error', () => {
    expect(() => parseImageSource('/var/tmp/x', { datastoreLocation: 'relative' })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });
});

describe('assertNotInVmDir (for the real path after realpath on the host)', () => {
  it('refuses a resolved path inside a VM directory, allows other paths', () => {
    expect(() => assertNotInVmDir('/var/lib/one/datastores/100/7/disk.0', opts.datastoreLocation)).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
    expect(() => assertNotInVmDir('/var/lib/one/datastores/import/x', opts.datastoreLocation)).not.toThrow();
    expect(() => assertNotInVmDir('/dev/vg-one-100/lv-one-7-0', opts.datastoreLocation)).not.toThrow();
  });
});

describe('sourceForLog', () => {
  it('leaves query strings and fragments out (presigned URLs carry tokens there)', () => {
    const source = parseImageSource('https://s3.example.org/b/x.qcow2?X-Amz-Signature=deadbeef#f', opts);
    expect(sourceForLog(source)).toBe('https://s3.example.org/b/x.qcow2?…');
    expect(sourceForLog(parseImageSource('http://example.org/x.img', opts))).toBe('http://example.org/x.img');
  });

  it('prints the other kinds in their canonical form', () => {
    expect(sourceForLog(parseImageSource('snapshot://7/1', opts))).toBe('lvm://7/1');
    expect(sourceForLog(parseImageSource('image://4', opts))).toBe('vol://4');
    expect(sourceForLog(parseImageSource('//var/tmp//a', opts))).toBe('/var/tmp/a');
  });
});
