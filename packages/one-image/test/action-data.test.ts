import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeActionInput, MAX_PAYLOAD_BYTES, parseDsActionData } from '../src/action-data.js';
import { DsError } from '../src/errors.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (DsError.isInstance(error)) {
      // Every refusal is one plain line.
      expect(error.message).not.toMatch(/\n/);
      expect(error.message.length).toBeLessThan(200);
      return `${error.code}: ${error.message}`;
    }
    throw error;
  }
  throw new Error('no error thrown');
}

describe('decodeActionInput', () => {
  const xml = '<DS_DRIVER_ACTION_DATA><DATASTORE><ID>1</ID></DATASTORE></DS_DRIVER_ACTION_DATA>';

  it('reads 6.8+ (argv [id], base64 on stdin) and pre-6.8 (argv [base64, id]) the same', () => {
    expect(decodeActionInput(['42'], b64(xml))).toEqual({ id: '42', xml });
    expect(decodeActionInput([b64(xml), '42'], '')).toEqual({ id: '42', xml });
    // A trailing newline (a hand-run `base64 -w0 | action 42` with echo) is tolerated, nothing else.
    expect(decodeActionInput(['0'], `${b64(xml)}\n`)).toEqual({ id: '0', xml });
  });

  it('keeps UTF-8 text intact', () => {
    const utf = '<A>žluťoučký kůň ✓</A>';
    expect(decodeActionInput(['1'], b64(utf)).xml).toBe(utf);
  });

  it.each([
    [[], 'USAGE'],
    [['1', '2', '3'], 'USAGE'],
  ])('refuses argv %j', (argv, code) => {
    expect(codeOf(() => decodeActionInput(argv, b64(xml)))).toMatch(new RegExp(`^${code}: expected <id>`));
  });

  it('refuses a payload both in argv and on stdin', () => {
    expect(codeOf(() => decodeActionInput([b64(xml), '1'], b64(xml)))).toMatch(/^USAGE: payload given both/);
  });

  it.each(['', '-1', '+1', '01', '1.0', '1e3', ' 1', '1\n', '2147483648', '99999999999', 'abc', '$(reboot)'])(
    'refuses the id %j',
    (id) => {
      expect(codeOf(() => decodeActionInput([id], b64(xml)))).toMatch(
        /^INVALID_ARGUMENT: id .* is not an id/,
      );
    },
  );

  it('accepts the largest id oned can have', () => {
    expect(decodeActionInput(['2147483647'], b64(xml)).id).toBe('2147483647');
  });

  it.each([
    ['empty', ''],
    ['not base64', '<DS_DRIVER_ACTION_DATA/>'],
    ['bad padding', `${b64(xml)}=`],
    ['missing padding', b64('ab').replace(/=+$/, '')],
    ['inner newline', `${b64(xml).slice(0, 8)}\n${b64(xml).slice(8)}`],
    ['url-safe alphabet', b64('\u00fb\u00ff\u00fe').replace(/\+/g, '-').replace(/\//g, '_')],
    ['NUL', `${b64(xml)}\u0000`],
  ])('refuses a payload: %s', (_what, payload) => {
    expect(codeOf(() => decodeActionInput(['1'], payload))).toMatch(/^INVALID_ARGUMENT: (payload|no DS_)/);
  });

  it('refuses a payload that is not UTF-8', () => {
    const latin1 = Buffer.from([0x3c, 0x41, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x41, 0x3e]).toString('base64');
    expect(codeOf(() => decodeActionInput(['1'], latin1))).toBe(
      'INVALID_ARGUMENT: payload is not UTF-8 text',
    );
  });

  it('refuses a payload over the size bound without decoding it', () => {
    const huge = 'A'.repeat(Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4 + 4);
    expect(codeOf(() => decodeActionInput(['1'], huge))).toMatch(/^INVALID_ARGUMENT: payload over/);
  });
});

describe('parseDsActionData: oned fixtures (fs driver, recorded)', () => {
  it('fs-cp-action-data.xml: image and datastore as oned sends them', () => {
    const data = parseDsActionData(fixture('fs-cp-action-data.xml'), 'cp');
    expect(data.image).toEqual({
      id: 44,
      uid: 0,
      gid: 0,
      uname: 'oneadmin',
      gname: 'oneadmin',
      name: 'debian-upload',
      type: 'OS',
      persistent: false,
      state: 4,
      path: '/var/lib/one/upload-debian.qcow2',
      source: '',
      format: '',
      fs: '',
      sizeMiB: 256,
      runningVms: [],
      runningVmCount: 0,
      diskType: 2,
      permissions: undefined,
      template: { DEV_PREFIX: 'vd' },
    });
    expect(data.datastore).toMatchObject({
      id: 101,
      name: 'lvm-images',
      basePath: '/var/lib/one/datastores/101',
      bridgeList: [],
      clusterIds: [0],
      type: 0,
      dsMad: 'fs',
      tmMad: 'fs_lvm',
    });
    expect(data.datastore.template).toMatchObject({
      SAFE_DIRS: '/var/lib/one',
      DRIVER: 'raw',
      TYPE: 'IMAGE_DS',
    });
    expect(data.extra).toEqual({});
  });

  it('fs-mkfs-action-data.xml: a DATABLOCK with FORMAT raw', () => {
    const { image } = parseDsActionData(fixture('fs-mkfs-action-data.xml'), 'mkfs');
    expect([image.id, image.type, image.format, image.sizeMiB]).toEqual([45, 'DATABLOCK', 'raw', 256]);
  });

  it('sysds-monitor-action-data.xml: no IMAGE, extra elements kept', () => {
    const data = parseDsActionData(fixture('sysds-monitor-action-data.xml'), 'monitor');
    expect(data.image.id).toBe(-1);
    expect(data.image.path).toBe('');
    expect(data.datastore).toMatchObject({ id: 100, type: 1, basePath: '/var/lib/one//datastores/100' });
    expect(data.extra).toEqual({ DATASTORE_LOCATION: '/var/lib/one//datastores', MONITOR_VM_DISKS: '1' });
  });
});

describe('parseDsActionData: gfs2clvm payloads', () => {
  const permissions = {
    owner: { use: true, manage: true, admin: false },
    group: { use: true, manage: false, admin: false },
    other: { use: false, manage: false, admin: false },
  };

  it.each([
    ['cp-url.xml', 400, 'https://images.example.org/debian-12-generic-amd64.qcow2?sig=abc123'],
    ['cp-frontend-file.xml', 401, '/var/tmp/sunstone-upload-7f3a2c'],
    ['cp-host-path.xml', 402, '/var/lib/one//datastores/import/ttylinux.qcow2'],
    ['cp-lvm.xml', 403, 'lvm://7/0'],
    ['cp-snapshot.xml', 404, 'snapshot://7/1'],
    ['cp-vol.xml', 405, 'vol://400'],
    ['cp-image.xml', 406, 'image://401'],
  ])('%s: image %i with PATH %s, owner and permissions', (name, id, path) => {
    const { image, datastore } = parseDsActionData(fixture(name), 'cp');
    expect(image.id).toBe(id);
    expect(image.path).toBe(path);
    expect([image.uid, image.gid, image.uname, image.gname]).toEqual([5, 100, 'alice', 'users']);
    expect(image.permissions).toEqual(permissions);
    expect(image.source).toBe('');
    expect(datastore).toMatchObject({
      id: 102,
      dsMad: 'gfs2clvm',
      tmMad: 'gfs2clvm',
      bridgeList: ['node1', 'node2'],
      clusterIds: [0, 100],
    });
    expect(datastore.template.VG_NAME).toBe('vg-one-100');
    expect(datastore.template.SAFE_DIRS).toBe('/var/tmp /var/lib/one/datastores/import');
  });

  it('cp-url.xml: template attributes of the image (MD5) are kept', () => {
    expect(parseDsActionData(fixture('cp-url.xml')).image.template).toEqual({
      DEV_PREFIX: 'vd',
      MD5: '0123456789abcdef0123456789abcdef',
    });
  });

  it('mkfs-save-as.xml: FORMAT save_as and the SAVED_* attributes', () => {
    const { image } = parseDsActionData(fixture('mkfs-save-as.xml'), 'mkfs');
    expect(image.format).toBe('save_as');
    expect(image.sizeMiB).toBe(2048);
    expect(image.template).toMatchObject({ SAVED_VM_ID: '7', SAVED_DISK_ID: '0', SAVE_AS_HOT: 'NO' });
  });

  it('mkfs-datablock.xml: persistent DATABLOCK, FS ext4', () => {
    const { image } = parseDsActionData(fixture('mkfs-datablock.xml'), 'mkfs');
    expect([image.type, image.persistent, image.format, image.fs, image.sizeMiB]).toEqual([
      'DATABLOCK',
      true,
      'raw',
      'ext4',
      1024,
    ]);
  });

  it('rm.xml: SOURCE <vg>/<lv>', () => {
    const { image } = parseDsActionData(fixture('rm.xml'), 'rm');
    expect([image.id, image.source, image.state]).toEqual([402, 'vg-one-100/lv-oneimg-402', 1]);
  });

  it('stat.xml: the minimal IMAGE of STAT (PATH only)', () => {
    const { image } = parseDsActionData(fixture('stat.xml'), 'stat');
    expect([image.id, image.uid, image.path, image.sizeMiB, image.permissions]).toEqual([
      -1,
      -1,
      '/var/tmp/sunstone-upload-7f3a2c',
      0,
      undefined,
    ]);
  });

  it('clone.xml: CLONING_ID, PATH is the source image SOURCE, SOURCE_BRIDGE_LIST in extra', () => {
    const data = parseDsActionData(fixture('clone.xml'), 'clone');
    expect(data.image.cloningId).toBe(400);
    expect(data.image.path).toBe('vg-one-100/lv-oneimg-400');
    expect(data.extra).toEqual({ SOURCE_BRIDGE_LIST: 'node1 node2' });
  });

  it('monitor.xml: datastore only', () => {
    const data = parseDsActionData(fixture('monitor.xml'), 'monitor');
    expect(data.datastore.id).toBe(102);
    expect(data.image.id).toBe(-1);
  });

  it('an image in use: VMS ids and the RUNNING_VMS count', () => {
    const xml = fixture('rm.xml')
      .replace('<RUNNING_VMS>0</RUNNING_VMS>', '<RUNNING_VMS>2</RUNNING_VMS>')
      .replace('<VMS></VMS>', '<VMS><ID>7</ID><ID>17</ID></VMS>');
    const { image } = parseDsActionData(xml);
    expect(image.runningVms).toEqual([7, 17]);
    expect(image.runningVmCount).toBe(2);
    expect(image.cloningId).toBeUndefined();
  });

  it('reads TYPE as a name too, and FSTYPE of older oned', () => {
    const xml = fixture('mkfs-datablock.xml')
      .replace('<TYPE>2</TYPE>', '<TYPE>cdrom</TYPE>')
      .replace('<FS><![CDATA[ext4]]></FS>', '<FSTYPE>xfs</FSTYPE>');
    const { image } = parseDsActionData(xml);
    expect([image.type, image.fs]).toEqual(['CDROM', 'xfs']);
  });

  it('keeps PATH exactly (no trimming), decodes character references', () => {
    const xml = fixture('cp-frontend-file.xml').replace(
      '<![CDATA[/var/tmp/sunstone-upload-7f3a2c]]>',
      '/var/tmp/a &amp; b &#40;1&#41; ',
    );
    expect(parseDsActionData(xml).image.path).toBe('/var/tmp/a & b (1) ');
  });

  it('pretty-printed XML (oned CLI style) reads the same', () => {
    const pretty = fixture('cp-vol.xml').replace(/></g, '>\n  <');
    const compact = parseDsActionData(fixture('cp-vol.xml'));
    const parsed = parseDsActionData(pretty);
    expect(parsed.image.id).toBe(compact.image.id);
    expect(parsed.image.runningVms).toEqual(compact.image.runningVms);
    expect(parsed.datastore.clusterIds).toEqual([0, 100]);
    expect(parsed.datastore.bridgeList).toEqual(['node1', 'node2']);
  });
});

describe('parseDsActionData: refusals (one line, INVALID_ARGUMENT)', () => {
  const cp = fixture('cp-lvm.xml');
  it.each([
    ['empty', '', /empty document/],
    ['not XML', 'hello', /not XML/],
    ['truncated', cp.slice(0, 200), /not XML/],
    ['another root', '<IMAGE><ID>1</ID></IMAGE>', /not a DS_DRIVER_ACTION_DATA/],
    ['two roots', `${cp}${cp}`, /not XML|not a DS_DRIVER/],
    [
      'no DATASTORE',
      '<DS_DRIVER_ACTION_DATA><IMAGE><ID>1</ID></IMAGE></DS_DRIVER_ACTION_DATA>',
      /no DATASTORE/,
    ],
    ['DOCTYPE with entities', `<!DOCTYPE x [<!ENTITY a "aaaa">]>${cp}`, /DOCTYPE not accepted/],
    ['NUL', cp.replace('<NAME>', '<NAME>\u0000'), /NUL/],
    [
      'prototype-polluting tag',
      cp.replace('<TEMPLATE>', '<TEMPLATE><__proto__>x</__proto__>'),
      /not usable XML/,
    ],
    [
      'Object member as tag',
      cp.replace('<TEMPLATE>', '<TEMPLATE><constructor>x</constructor>'),
      /not usable XML/,
    ],
    [
      'deep nesting',
      `<DS_DRIVER_ACTION_DATA>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</DS_DRIVER_ACTION_DATA>`,
      /not usable XML|DATASTORE/,
    ],
    ['IMAGE/ID not a number', cp.replace('<ID>403</ID>', '<ID>x</ID>'), /IMAGE\/ID "x" is not an integer/],
    ['IMAGE/ID beyond 2^31', cp.replace('<ID>403</ID>', '<ID>2147483648</ID>'), /IMAGE\/ID/],
    ['UID below -1', cp.replace('<UID>5</UID>', '<UID>-2</UID>'), /IMAGE\/UID/],
    ['SIZE negative', cp.replace('<SIZE>2048</SIZE>', '<SIZE>-5</SIZE>'), /IMAGE\/SIZE/],
    ['SIZE huge', cp.replace('<SIZE>2048</SIZE>', '<SIZE>99999999999999</SIZE>'), /IMAGE\/SIZE/],
    ['TYPE unknown', cp.replace('<TYPE>0</TYPE>', '<TYPE>9</TYPE>'), /IMAGE\/TYPE "9"/],
    [
      'PERSISTENT garbage',
      cp.replace('<PERSISTENT>0</PERSISTENT>', '<PERSISTENT>maybe</PERSISTENT>'),
      /PERSISTENT/,
    ],
    ['VMS/ID garbage', cp.replace('<VMS></VMS>', '<VMS><ID>7;rm</ID></VMS>'), /VMS\/ID/],
    [
      'PERMISSIONS bit 2',
      cp.replace('<OWNER_U>1</OWNER_U>', '<OWNER_U>2</OWNER_U>'),
      /OWNER_U "2" is not 0 or 1/,
    ],
    ['PERMISSIONS incomplete', cp.replace('<OTHER_A>0</OTHER_A>', ''), /OTHER_A missing/],
    ['DATASTORE/ID missing', cp.replace('<DATASTORE><ID>102</ID>', '<DATASTORE>'), /DATASTORE\/ID missing/],
    ['two IMAGEs', cp.replace('</IMAGE>', '</IMAGE><IMAGE><ID>1</ID></IMAGE>'), /more than one IMAGE/],
  ])('%s', (_what, xml, message) => {
    const result = codeOf(() => parseDsActionData(xml));
    expect(result).toMatch(/^INVALID_ARGUMENT: /);
    expect(result).toMatch(message);
  });

  it('with an action, refuses a payload that lacks what the action needs', () => {
    const stat = fixture('stat.xml');
    expect(codeOf(() => parseDsActionData(stat, 'cp'))).toBe(
      'INVALID_ARGUMENT: cp: payload has no IMAGE with ID, UID and GID',
    );
    expect(codeOf(() => parseDsActionData(fixture('monitor.xml'), 'rm'))).toMatch(/^INVALID_ARGUMENT: rm: /);
    expect(codeOf(() => parseDsActionData(fixture('monitor.xml'), 'stat'))).toBe(
      'INVALID_ARGUMENT: stat: payload has no IMAGE/PATH',
    );
    // …and the same payloads are fine for the actions they belong to.
    expect(parseDsActionData(stat, 'stat').image.path).not.toBe('');
    expect(parseDsActionData(fixture('monitor.xml'), 'monitor').datastore.id).toBe(102);
  });

  it('an error message shows the bad value quoted and cut, never the whole input', () => {
    const long = 'x'.repeat(10_000);
    const message = codeOf(() =>
      parseDsActionData(fixture('cp-lvm.xml').replace('<ID>403</ID>', `<ID>${long}</ID>`)),
    );
    expect(message.length).toBeLessThan(200);
  });
});
