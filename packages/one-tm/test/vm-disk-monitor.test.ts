/**
 * Per-VM disk sizes of the system datastore `monitor` (issue 17, spec opennebula-backups §9): the
 * builder (LV report → `VM=[ID=…,MONITOR="…"]`), the datagrams, monitord.conf, the UDP sender, and
 * the action with MONITOR_VM_DISKS=1, each checked by the fake onemonitord of one-harness (written
 * from the spec: decode, inflate, parse VM entries, decode MONITOR, parse DISK_SIZE); with a
 * PUBKEY the messages are RSA-encrypted and the fake decrypts them with the private key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { deflateSync, inflateSync } from 'node:zlib';
import {
  DriverError,
  encryptMonitorPayload,
  monitorDatagrams,
  parseMonitordConf,
  readMonitordConf,
  sendDatagrams,
  vmMonitorEntry,
} from '@one-gfs2clvm/driver-runtime';
import { fakeHost, type Rule } from '@one-gfs2clvm/driver-runtime/testing';
import { type Lv, parseLvsReport } from '@one-gfs2clvm/lvm';
import { lvsRow } from '@one-gfs2clvm/lvm/testing';
import {
  decryptMonitorPayload,
  type FakeOnemonitord,
  parseMonitorMessage,
  parseMonitorVmPayload,
  startFakeOnemonitord,
} from '@one-gfs2clvm/one-harness';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAction } from '../src/index.js';
import { hostsToAsk, parseDiskLvName, vmDiskSizes, withAllocation } from '../src/vm-disk-sizes.js';

const MiB = 2 ** 20;
const VG = 'vg-one-100';
const TMP = mkdtempSync(join(tmpdir(), 'tm-vmmon-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/**
 * An RSA pair as an operator would make for monitord.conf (OpenNebula ships no key generation;
 * 2048 bits, OpenSSL's default): PUBKEY in PKCS#1 `RSA PUBLIC KEY` PEM, the format OpenNebula's
 * agents parse; PRIKEY in PKCS#1 PEM. A second pair is the wrong key.
 */
function rsaPair() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pub: publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    spki: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    pri: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}
const KEY = rsaPair();
const OTHER = rsaPair();
const RSA_BLOCK = 256;

interface Row {
  name: string;
  sizeMiB: number;
  pool?: string;
  dataPercent?: number | '';
  origin?: string;
  tags?: string[];
}

function row(r: Row): Record<string, string> {
  const base = lvsRow(VG, r.name, { sizeBytes: r.sizeMiB * MiB, active: true, tags: r.tags });
  const thin = r.pool !== undefined;
  return {
    ...base,
    lv_attr: thin ? 'Vwi-a-tz--' : (base.lv_attr ?? ''),
    pool_lv: r.pool ?? '',
    origin: r.origin ?? '',
    data_percent: r.dataPercent === undefined ? '' : String(r.dataPercent),
    lv_layout: thin ? 'thin,sparse' : 'linear',
    lv_metadata_size: '',
  };
}

const report = (rows: Row[]) => JSON.stringify({ report: [{ lv: rows.map(row) }] });
const lvs = (rows: Row[]): Lv[] => parseLvsReport(report(rows));

/** VM 7: thick disk 0 (1 GiB), thin disk 1 (2 GiB, 25 % allocated) with a snapshot, swap disk 2. */
const VM7: Row[] = [
  { name: 'lv-one-7-0', sizeMiB: 1024 },
  { name: 'lv-one-7-pool', sizeMiB: 4096, dataPercent: 20 },
  { name: 'lv-one-7-1', sizeMiB: 2048, pool: 'lv-one-7-pool', dataPercent: 25 },
  {
    name: 'lv-one-7-1-snap-0',
    sizeMiB: 2048,
    pool: 'lv-one-7-pool',
    origin: 'lv-one-7-1',
    dataPercent: 10.5,
  },
  { name: 'lv-one-7-2', sizeMiB: 512 },
];

describe('vmDiskSizes: one LV report → sizes per VM', () => {
  it('a VM with a thick, a thin (allocated, not virtual) and a swap disk; the thin snapshot', () => {
    const sizes = vmDiskSizes(lvs(VM7));
    expect([...sizes.keys()]).toEqual([7]);
    expect(sizes.get(7)).toEqual([
      { diskId: 0, sizeMb: 1024, snapshots: [] },
      { diskId: 1, sizeMb: 512, snapshots: [{ snapId: 0, sizeMb: Math.ceil(2048 * 0.105) }] },
      { diskId: 2, sizeMb: 512, snapshots: [] },
    ]);
  });

  it('skips pools, images, strays, non-numeric, zero-padded and huge ids, unknown thin allocation', () => {
    const sizes = vmDiskSizes(
      lvs([
        { name: 'lv-oneimg-42', sizeMiB: 64, tags: ['one_active_node1'] },
        { name: 'lv-one-x-0', sizeMiB: 64 },
        { name: 'lv-one-8-x', sizeMiB: 64 },
        { name: 'lv-one-08-0', sizeMiB: 64 },
        { name: 'lv-one-2147483648-0', sizeMiB: 64 },
        { name: 'lv-one-99999999999999999999-0', sizeMiB: 64 },
        { name: 'lv-one-9-0-revert', sizeMiB: 64 },
        { name: 'lv-one-9-poolwipe', sizeMiB: 64, pool: 'lv-one-9-pool', dataPercent: 1 },
        { name: 'lv-one-10-0', sizeMiB: 64, pool: 'lv-one-10-pool', dataPercent: '' },
        { name: 'lv-one-2147483647-3', sizeMiB: 8 },
      ]),
    );
    expect([...sizes]).toEqual([[2147483647, [{ diskId: 3, sizeMb: 8, snapshots: [] }]]]);
    expect(parseDiskLvName('lv-one-7-1-snap-x')).toBeNull();
  });
});

describe('thin disks whose pool is active on another host', () => {
  const here: Row[] = [
    { name: 'lv-one-7-0', sizeMiB: 1024 },
    { name: 'lv-one-7-1', sizeMiB: 2048, pool: 'lv-one-7-pool', dataPercent: '', tags: ['one_active_node2'] },
    {
      name: 'lv-one-8-1',
      sizeMiB: 64,
      pool: 'lv-one-8-pool',
      dataPercent: '',
      tags: ['one_active_-oProxy=x'],
    },
    { name: 'lv-one-9-1', sizeMiB: 64, pool: 'lv-one-9-pool', dataPercent: '', tags: ['one_active_node1'] },
  ];

  it('ask only the hosts their tags name (valid names, not the one asked already), once each', () => {
    expect(hostsToAsk(lvs(here), 'node1.example.com')).toEqual(['node2']);
    expect(hostsToAsk(lvs(VM7), 'node1')).toEqual([]);
  });

  it('take the allocation from that host report', () => {
    const there = lvs([{ name: 'lv-one-7-1', sizeMiB: 2048, pool: 'lv-one-7-pool', dataPercent: 50 }]);
    expect(vmDiskSizes(withAllocation(lvs(here), there)).get(7)).toEqual([
      { diskId: 0, sizeMb: 1024, snapshots: [] },
      { diskId: 1, sizeMb: 1024, snapshots: [] },
    ]);
  });
});

describe('datagrams, read back by the fake onemonitord', () => {
  it('one VM entry: MONITOR is one base64 blob that decodes to DISK_SIZE and SNAPSHOT_SIZE', () => {
    const entry = vmMonitorEntry(7, vmDiskSizes(lvs(VM7)).get(7) ?? []);
    expect(entry).toMatch(/^VM=\[ID=7,MONITOR="[A-Za-z0-9+/=]+"\]$/);
    const [datagram] = monitorDatagrams('MONITOR_VM', [entry]);
    const message = parseMonitorMessage(datagram ?? '');
    expect(message).toMatchObject({ type: 'MONITOR_VM', result: 'SUCCESS', oid: -1, timestamp: 0 });
    expect(parseMonitorVmPayload(message.payload).get(7)).toEqual({
      disks: [
        { id: 0, sizeMb: 1024 },
        { id: 1, sizeMb: 512 },
        { id: 2, sizeMb: 512 },
      ],
      snapshots: [{ id: 0, diskId: 1, sizeMb: 216 }],
    });
  });

  it('too many VMs for one datagram: split into several, every VM once, none truncated', () => {
    const entries = Array.from({ length: 300 }, (_, vm) =>
      vmMonitorEntry(vm, [{ diskId: 0, sizeMb: vm * 7919, snapshots: [] }]),
    );
    const datagrams = monitorDatagrams('MONITOR_VM', entries, { maxBytes: 2000 });
    expect(datagrams.length).toBeGreaterThan(1);
    for (const d of datagrams) expect(Buffer.byteLength(d)).toBeLessThanOrEqual(2000);
    const ids = datagrams.flatMap((d) => [...parseMonitorVmPayload(parseMonitorMessage(d).payload).keys()]);
    expect(ids).toEqual(entries.map((_, vm) => vm));
    expect(() => monitorDatagrams('MONITOR_VM', entries, { maxBytes: 50 })).toThrow(/over 50/);
    expect(monitorDatagrams('MONITOR_VM', [])).toEqual([]);
  });

  it('the fake onemonitord refuses what onemonitord refuses (inner whitespace, bad zlib)', () => {
    expect(() => parseMonitorVmPayload('VM=[ID=7,MONITOR="RElT S19T"]')).toThrow(/one base64 blob/);
    expect(() => parseMonitorMessage('MONITOR_VM SUCCESS -1 0 AAAA')).toThrow(/zlib/);
  });
});

describe('PUBKEY encryption, decrypted by the fake onemonitord', () => {
  it('blocks of 245 bytes (2048-bit key − 11), each 256 bytes of PKCS#1 v1.5; the fake gets the bytes back', () => {
    for (const [length, blocks] of [
      [1, 1],
      [245, 1],
      [246, 2],
      [2000, 9],
    ] as const) {
      const payload = `${'x'.repeat(length - 1)}y`;
      const sealed = encryptMonitorPayload(payload, KEY.pub);
      expect(sealed.length).toBe(blocks * RSA_BLOCK);
      expect(sealed.includes(Buffer.from('xxxx'))).toBe(false);
      expect(decryptMonitorPayload(sealed, KEY.pri).toString('utf8')).toBe(payload);
    }
    const spki = encryptMonitorPayload('VM=[ID=1,MONITOR=""]', KEY.spki);
    expect(decryptMonitorPayload(spki, KEY.pri).toString('utf8')).toBe('VM=[ID=1,MONITOR=""]');
  });

  it('a datagram: zlib and base64 over the ciphertext; the keyed fake reads exactly the sizes', () => {
    const entry = vmMonitorEntry(7, vmDiskSizes(lvs(VM7)).get(7) ?? []);
    const [datagram] = monitorDatagrams('MONITOR_VM', [entry], { pubkeyPem: KEY.pub });
    const message = parseMonitorMessage(datagram ?? '', KEY.pri);
    expect(message).toMatchObject({ type: 'MONITOR_VM', result: 'SUCCESS', oid: -1, timestamp: 0 });
    expect(message.payload).toBe(entry);
    expect(() => parseMonitorVmPayload(parseMonitorMessage(datagram ?? '').payload)).toThrow(
      /not a VM=\[ID=…,MONITOR="…"\] entry/,
    );
  });

  it('the wrong private key, or a plain message to a keyed daemon: a clear failure, not garbage', () => {
    const [sealed] = monitorDatagrams('MONITOR_VM', ['VM=[ID=1,MONITOR=""]'], { pubkeyPem: KEY.pub });
    expect(() => parseMonitorMessage(sealed ?? '', OTHER.pri)).toThrow(
      /^RSA block 0 is not PKCS#1 v1\.5 padded: wrong private key, or not encrypted$/,
    );
    // A block larger than the key's modulus (sealed for a bigger one): OpenSSL refuses it outright.
    const over = `MONITOR_VM SUCCESS -1 0 ${deflateSync(Buffer.alloc(256, 0xff)).toString('base64')}`;
    expect(() => parseMonitorMessage(over, KEY.pri)).toThrow(/^RSA block 0 is not PKCS#1 v1\.5 padded/);
    const [plain] = monitorDatagrams('MONITOR_VM', ['VM=[ID=1,MONITOR=""]']);
    expect(() => parseMonitorMessage(plain ?? '', KEY.pri)).toThrow(
      /^20 bytes are not whole 256-byte RSA blocks$/,
    );
  });
});

describe('monitord.conf', () => {
  const conf = (network: string) =>
    `# comment PORT = 1\nLOG = [ SYSTEM = "file" ]\nNETWORK = [\n${network}\n]\n`;

  it('MONITOR_ADDRESS auto is 127.0.0.1; PORT and PUBKEY as written', () => {
    expect(
      parseMonitordConf(
        conf('  ADDRESS = "0.0.0.0",\n  MONITOR_ADDRESS = "auto",\n  PORT = 4124,\n  PUBKEY = ""'),
      ),
    ).toEqual({
      address: '127.0.0.1',
      port: 4124,
      pubkey: '',
    });
    expect(
      parseMonitordConf(conf('MONITOR_ADDRESS = "10.0.0.5", PORT = 5000, PUBKEY = "/etc/one/k.pem"')),
    ).toEqual({
      address: '10.0.0.5',
      port: 5000,
      pubkey: '/etc/one/k.pem',
    });
  });

  it('a bad PORT, address or a file without NETWORK is one CONFIG line; no file is null', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return DriverError.isInstance(e) ? `${e.code}: ${e.message}` : String(e);
      }
      return 'no error';
    };
    expect(code(() => parseMonitordConf(conf('PORT = 99999')))).toBe(
      'CONFIG: monitord.conf: PORT "99999" is not a UDP port',
    );
    expect(code(() => parseMonitordConf(conf('PORT = "4124; rm -rf /"')))).toMatch(
      /^CONFIG: .*not a UDP port$/,
    );
    expect(code(() => parseMonitordConf(conf('MONITOR_ADDRESS = "a b;c", PORT = 1')))).toMatch(
      /not an address$/,
    );
    expect(code(() => parseMonitordConf('PORT = 4124\n'))).toBe(
      'CONFIG: monitord.conf: no NETWORK = [ … ] section',
    );
    expect(readMonitordConf(join(TMP, 'absent.conf'))).toBeNull();
  });
});

describe('sendDatagrams and the monitor action (real UDP on 127.0.0.1)', () => {
  let fake: FakeOnemonitord;
  beforeEach(async () => {
    fake = await startFakeOnemonitord();
  });
  afterEach(() => fake.close());

  it('sends each datagram as is', async () => {
    const entries = [vmMonitorEntry(3, [{ diskId: 0, sizeMb: 5, snapshots: [] }])];
    await sendDatagrams(
      { address: '127.0.0.1', port: fake.port, pubkey: '' },
      monitorDatagrams('MONITOR_VM', entries),
    );
    await fake.waitFor(1);
    expect(fake.vms().get(3)).toEqual({ disks: [{ id: 0, sizeMb: 5 }], snapshots: [] });
  });

  const lvsRule =
    (rows: Row[]): Rule =>
    (argv) =>
      argv[0] === 'lvm' && argv[1] === 'lvs' ? { stdout: report(rows) } : undefined;

  async function monitor(payloadExtra: string, monitordConf: string | null, rows = VM7) {
    const dir = mkdtempSync(join(TMP, 'run-'));
    const confPath = join(dir, 'monitord.conf');
    if (monitordConf !== null) writeFileSync(confPath, monitordConf);
    const config = join(dir, 'gfs2clvm.conf');
    writeFileSync(
      config,
      `FRONTEND_HOSTS=fe\nLVM_BACKEND=lvm\nLVM_PREFIX=lvm\nLOCK_MODE=lvmlockd\nLOCK_DIR=${dir}\nMONITORD_CONF=${confPath}\n`,
    );
    const xml = `<DS_DRIVER_ACTION_DATA><DATASTORE><ID>100</ID><NAME>system</NAME><TYPE>1</TYPE><CLUSTERS><ID>0</ID></CLUSTERS><TEMPLATE><TM_MAD>gfs2clvm</TM_MAD></TEMPLATE></DATASTORE><DATASTORE_LOCATION>/var/lib/one/datastores</DATASTORE_LOCATION>${payloadExtra}</DS_DRIVER_ACTION_DATA>`;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c) => (out += c));
    stderr.on('data', (c) => (err += c));
    const node1 = fakeHost('node1', {}, [lvsRule(rows)]);
    const exit = await runAction('monitor', ['100'], {
      stdin: Readable.from([Buffer.from(xml).toString('base64')]),
      stdout,
      stderr,
      configPath: config,
      one: {
        vm: async () => {
          throw new Error('no VM');
        },
        datastore: async (id) => ({
          id,
          name: 'system',
          type: 1,
          tmMad: 'gfs2clvm',
          template: {},
          clusterIds: [0],
        }),
        hosts: async () => [{ id: 0, name: 'node1', state: 2, clusterId: 0 }],
      },
      connect: (host) => (host === 'node1' ? node1 : new FakeRunner({ host }).failNext(1000, 'UNREACHABLE')),
    });
    const lvsCalls = node1.calls.filter((c) => c.argv[1] === 'lvs').length;
    return { exit, out, err, lvsCalls };
  }

  const conf = (port: number | string, extra = '') =>
    `NETWORK = [ ADDRESS = "0.0.0.0", MONITOR_ADDRESS = "auto", PORT = ${port}${extra} ]\n`;

  it('MONITOR_VM_DISKS=1: the datastore sizes on stdout and the VM with three disks gets exactly its three sizes', async () => {
    const r = await monitor('<MONITOR_VM_DISKS>1</MONITOR_VM_DISKS>', conf(fake.port));
    expect(r).toMatchObject({
      exit: 0,
      out: 'USED_MB=4096 FREE_MB=6144 TOTAL_MB=10240\n',
      err: '',
      lvsCalls: 1,
    });
    await fake.waitFor(1);
    const vm7 = fake.vms().get(7);
    expect(vm7?.disks).toEqual([
      { id: 0, sizeMb: 1024 },
      { id: 1, sizeMb: 512 },
      { id: 2, sizeMb: 512 },
    ]);
    expect(fake.datagrams).toHaveLength(1);
  });

  it('without MONITOR_VM_DISKS=1 (or =0) nothing is read or sent', async () => {
    for (const extra of ['', '<MONITOR_VM_DISKS>0</MONITOR_VM_DISKS>']) {
      const r = await monitor(extra, conf(fake.port));
      expect(r).toMatchObject({ exit: 0, err: '', lvsCalls: 0 });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.datagrams).toEqual([]);
  });

  it('no monitord.conf: skipped silently; bad PORT: one line; the sizes still printed', async () => {
    const flag = '<MONITOR_VM_DISKS>1</MONITOR_VM_DISKS>';
    const none = await monitor(flag, null);
    expect(none).toMatchObject({ exit: 0, err: '', lvsCalls: 0 });
    const badPort = await monitor(flag, conf('"x"'));
    expect(badPort.exit).toBe(0);
    expect(badPort.out).toBe('USED_MB=4096 FREE_MB=6144 TOTAL_MB=10240\n');
    expect(badPort.err).toMatch(
      /^ERROR: monitor: per-VM disk sizes not sent: .*PORT "x" is not a UDP port\n$/,
    );
    const hostile = await monitor(flag, conf(fake.port), [
      { name: 'lv-one-x-0', sizeMiB: 64 },
      { name: 'lv-one-99999999999-0', sizeMiB: 64 },
    ]);
    expect(hostile).toMatchObject({ exit: 0, err: '' });
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.datagrams).toEqual([]);
  });

  it('PUBKEY: encrypted per OpenNebula; the keyed fake gets VM 7 three sizes and VM 8 (several RSA blocks) all twelve', async () => {
    const dir = mkdtempSync(join(TMP, 'key-'));
    writeFileSync(join(dir, 'onemonitord.pub'), KEY.pub);
    const keyed = await startFakeOnemonitord({ privateKeyPem: KEY.pri });
    try {
      const vm8 = Array.from({ length: 12 }, (_, d) => ({ name: `lv-one-8-${d}`, sizeMiB: 100 + d }));
      const r = await monitor(
        '<MONITOR_VM_DISKS>1</MONITOR_VM_DISKS>',
        conf(keyed.port, `, PUBKEY = "${join(dir, 'onemonitord.pub')}"`),
        [...VM7, ...vm8],
      );
      expect(r).toMatchObject({ exit: 0, out: 'USED_MB=4096 FREE_MB=6144 TOTAL_MB=10240\n', err: '' });
      await keyed.waitFor(1);
      expect(keyed.datagrams).toHaveLength(1);
      const blob = (keyed.datagrams[0] ?? '').split(' ')[4] ?? '';
      expect(inflateSync(Buffer.from(blob, 'base64')).length / RSA_BLOCK).toBeGreaterThanOrEqual(3);
      const vms = keyed.vms();
      expect(vms.get(7)?.disks).toEqual([
        { id: 0, sizeMb: 1024 },
        { id: 1, sizeMb: 512 },
        { id: 2, sizeMb: 512 },
      ]);
      expect(vms.get(8)?.disks).toEqual(vm8.map((_, d) => ({ id: d, sizeMb: 100 + d })));
    } finally {
      await keyed.close();
    }
  });

  it('a hostile or broken PUBKEY: one ERROR line each, nothing read or sent, the sizes still printed', async () => {
    const dir = mkdtempSync(join(TMP, 'badkey-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    mkdirSync(join(dir, 'adir'));
    const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
    const cases: [string, RegExp][] = [
      ['onemonitord.pub', /PUBKEY onemonitord\.pub: must be an absolute path$/],
      [`${dir}/adir/../x.pub`, /: must not contain "\.\."$/],
      [join(dir, 'adir'), /: is not a regular file$/],
      [join(dir, 'absent.pub'), /: cannot read: ENOENT/],
      [file('empty.pub', ''), /: is empty$/],
      [file('private.pem', KEY.pri), /: holds a private key; it must name the public one$/],
      [file('huge.pub', KEY.pub.repeat(40)), /: is \d+ bytes, over 16384$/],
      [file('junk.pub', 'ssh-rsa AAAA user@host\n'), /: is not a PEM public key$/],
      [
        file('broken.pub', '-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n'),
        /: is not a PEM public key \(/,
      ],
      [file('ed.pub', ed25519.toString()), /: is a ed25519 key, not RSA$/],
    ];
    for (const [path, message] of cases) {
      const r = await monitor(
        '<MONITOR_VM_DISKS>1</MONITOR_VM_DISKS>',
        conf(fake.port, `, PUBKEY = "${path}"`),
      );
      expect(r).toMatchObject({ exit: 0, out: 'USED_MB=4096 FREE_MB=6144 TOTAL_MB=10240\n', lvsCalls: 0 });
      expect(r.err).toMatch(/^ERROR: monitor: per-VM disk sizes not sent: PUBKEY [^\n]*\n$/);
      expect(r.err.trimEnd()).toMatch(message);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.datagrams).toEqual([]);
  });
});
