import { PassThrough, Readable } from 'node:stream';
import {
  type ActionContext,
  configFromValues,
  copyArgv,
  DEFAULTS,
  type OneClient,
  parseConfigText,
  storageFor,
} from '@one-gfs2clvm/driver-runtime';
import { Lvm } from '@one-gfs2clvm/lvm';
import { lvmCommand } from '@one-gfs2clvm/lvm/testing';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { describe, expect, it } from 'vitest';
import { runAction } from '../src/index.js';
import { ensurePoolRoom, poolMetadataBytes, poolName, revertLvName, snapshotLvName } from '../src/thin.js';

// Thin provisioning and snapshots: names, argv, configuration and the thick/thin branching against
// fake hosts (a FakeRunner rejects every command it was not told about). The real thing runs in
// thin.testbed.test.ts and mv-sysds.testbed.test.ts.

const VG = 'vg-one-100';
const DISK = '/var/lib/one/datastores/100/7/disk.0';

function lvRow(name: string, pool = '', origin = '', active = true): Record<string, string> {
  return {
    lv_name: name,
    vg_name: VG,
    lv_uuid: 'moKh0t-h2RQ-dEQG-NFTJ-u89c-LOHf-RhLcVi',
    lv_attr: pool ? (active ? 'Vwi-a-tz--' : 'Vwi---tz--') : active ? '-wi-a-----' : '-wi-------',
    lv_size: '33554432',
    lv_tags: '',
    pool_lv: pool,
    origin,
    data_percent: '',
    metadata_percent: '',
    lv_active: active ? 'active' : '',
    lv_active_locally: active ? 'active locally' : '',
    lv_active_exclusively: active ? 'active exclusively' : '',
    lv_layout: pool ? 'thin,sparse' : 'linear',
    lv_role: 'public',
  };
}

const report = (...rows: Array<Record<string, string>>) => ({
  stdout: JSON.stringify({ report: [{ lv: rows }] }),
});

const oned: OneClient = {
  vm: async (id) => ({ id, state: 8, lcmState: 0, disks: [], lastHost: 'node1' }),
  datastore: async (id) => ({
    id,
    name: `ds${id}`,
    type: 1,
    tmMad: 'gfs2clvm',
    template: {},
    clusterIds: [0],
  }),
  hosts: async () => [],
};

async function run(action: string, argv: string[], node1: FakeRunner, one: OneClient = oned) {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c) => (err += c));
  const code = await runAction(action, argv, {
    stdin: Readable.from([]),
    stdout: new PassThrough(),
    stderr,
    configPath: '/nonexistent',
    config: { ...structuredClone(DEFAULTS), lvmBackend: 'lvm', lvmPrefix: ['lvm'], lockMode: 'lvmlockd' },
    one,
    connect: (host) => {
      if (host !== 'node1') throw new Error(`unexpected host ${host}`);
      return node1;
    },
  });
  const plain = err.split('\n').filter((l) => l !== '' && !/^(ERROR|INFO|DEBUG):/.test(l));
  return { code, plain, err };
}

function node1(diskRow: Record<string, string>): FakeRunner {
  const fake = new FakeRunner({ host: 'node1' });
  fake.on(['find', DISK, '-maxdepth', '0', '-printf', '%y\\t%l\\n'], {
    stdout: `l\t/dev/${VG}/lv-one-7-0\n`,
  });
  fake.on(lvmCommand('lvs', `${VG}/lv-one-7-0`), report(diskRow));
  return fake;
}

describe('thin: names and argv', () => {
  it('names the pool, snapshots and the revert LV after the VM and disk', () => {
    expect(poolName(7)).toBe('lv-one-7-pool');
    expect(snapshotLvName('lv-one-7-0', 3)).toBe('lv-one-7-0-snap-3');
    expect(revertLvName('lv-one-7-0')).toBe('lv-one-7-0-revert');
  });

  it('copies sparse with direct I/O onto the thin LV only', () => {
    const to = { vg: VG, lv: 'lv-one-7-0' };
    expect(copyArgv({ vg: 'vg-a', lv: 'lv-oneimg-4' }, to, '4M', { zeroTarget: 'new-thin' })).toEqual([
      'dd',
      'if=/dev/vg-a/lv-oneimg-4',
      `of=/dev/${VG}/lv-one-7-0`,
      'bs=4M',
      'iflag=direct',
      'oflag=direct',
      'conv=sparse,notrunc,fsync',
      'status=none',
    ]);
  });

  it('pool metadata: 64 bytes per 64 KiB chunk of data, at least 2 MiB, whole sectors', () => {
    const MiB = 2 ** 20;
    expect(poolMetadataBytes(64 * MiB)).toBe(2 * MiB);
    expect(poolMetadataBytes(1024 * MiB)).toBe(2 * MiB);
    expect(poolMetadataBytes(100 * 1024 * MiB)).toBe(100 * MiB);
    expect(poolMetadataBytes(1024 * 1024 * MiB)).toBe(1024 * MiB);
    expect(poolMetadataBytes(4 * 1024 * MiB + 4 * MiB)).toBe(4 * MiB + 4096);
    expect(poolMetadataBytes(3 * 1024 * MiB + 512) % 512).toBe(0);
  });

  it('THIN_PROVISIONING: default thick, a config key, overridden per datastore', () => {
    expect(DEFAULTS.storage.thinProvisioning).toBe(false);
    const c = configFromValues(parseConfigText('THIN_PROVISIONING=yes'));
    expect(c.storage.thinProvisioning).toBe(true);
    expect(storageFor(c, { THIN_PROVISIONING: 'NO' }).thinProvisioning).toBe(false);
    expect(() => configFromValues(parseConfigText('THIN_PROVISIONING=sometimes'))).toThrow(/not yes or no/);
  });
});

describe('ensurePoolRoom: the metadata follows the data', () => {
  const GiB = 2 ** 30;
  const ctx = { log: { info: () => {} } } as unknown as ActionContext;
  function host(poolBytes: number, metadataBytes: number) {
    const fake = new FakeRunner({ host: 'node1' });
    const pool = {
      ...lvRow('lv-one-7-pool'),
      lv_size: String(poolBytes),
      lv_metadata_size: String(metadataBytes),
    };
    fake.on(lvmCommand('lvs', `${VG}/lv-one-7-pool`), report(pool));
    fake.on(lvmCommand('lvs', VG), report(lvRow('lv-one-7-0', 'lv-one-7-pool'), pool));
    fake.on(lvmCommand('lvextend', `${VG}/lv-one-7-pool`), { stdout: '{}' });
    const lvm = new Lvm({ runner: fake, lockMode: 'lvmlockd', retry: false });
    return { fake, host: { name: 'node1', runner: fake, data: fake, lvm } };
  }
  const extends_ = (fake: FakeRunner) =>
    fake.argvs.filter((a) => a[1] === 'lvextend').map((a) => a.filter((w) => /^[0-9]+b$/.test(w)));

  it('grows data and metadata in one lvextend', async () => {
    const { fake, host: h } = host(GiB, 4 * 2 ** 20);
    await ensurePoolRoom(ctx, h, VG, 'lv-one-7-pool', 8 * GiB);
    const data = 8 * GiB + 33554432;
    expect(extends_(fake)).toEqual([[`${data}b`, `${poolMetadataBytes(data)}b`]]);
  });

  it('a pool with room but short metadata (grown before) gets only its metadata grown', async () => {
    const { fake, host: h } = host(16 * GiB, 4 * 2 ** 20);
    await ensurePoolRoom(ctx, h, VG, 'lv-one-7-pool', GiB);
    expect(extends_(fake)).toEqual([[`${16 * GiB}b`, `${16 * 2 ** 20}b`]]);
  });

  it('room and metadata enough: no lvextend', async () => {
    const { fake, host: h } = host(16 * GiB, 16 * 2 ** 20);
    await ensurePoolRoom(ctx, h, VG, 'lv-one-7-pool', GiB);
    expect(extends_(fake)).toEqual([]);
  });
});

describe('snapshots: thick refused, thin branches', () => {
  it.each(['snap_create', 'snap_create_live', 'snap_delete', 'snap_revert'])(
    '%s of a thick disk: one line, nothing changed (nothing frozen)',
    async (action) => {
      const fake = node1(lvRow('lv-one-7-0'));
      const r = await run(action, [`node1:${DISK}`, '0', '7', '100'], fake);
      expect(r.code).toBe(1);
      expect(r.plain).toEqual([`${action}: disk snapshots not supported by gfs2clvm (thick LVs)`]);
      expect(
        fake.argvs.some((a) => ['lvcreate', 'lvremove', 'lvchange', 'lvrename'].includes(a[1] as string)),
      ).toBe(false);
      expect(fake.argvs.some((a) => a[0] === 'virsh')).toBe(false);
    },
  );

  it.each([
    ['-1', /snapshot id "-1" is not an id/],
    ['1;reboot', /is not an id/],
  ])('snap_create with snapshot id %j: one line, no host touched', async (id, message) => {
    const fake = new FakeRunner({ host: 'node1' });
    const r = await run('snap_create', [`node1:${DISK}`, id, '7', '100'], fake);
    expect(r.code).toBe(1);
    expect(r.plain).toHaveLength(1);
    expect(r.plain[0]).toMatch(message);
    expect(fake.argvs).toEqual([]);
  });

  it('snap_create of a thin disk: pool grown to fit, thin snapshot made, left inactive', async () => {
    const fake = thinSnapshotHost();
    const r = await run('snap_create', [`node1:${DISK}`, '2', '7', '100'], fake);
    expect(r.plain, r.err).toEqual([]);
    const lvm = fake.argvs.filter((a) => a[0] === 'lvm').map((a) => a.filter((w) => !w.includes('{')));
    const extend = lvm.find((a) => a[1] === 'lvextend');
    expect(extend).toContain(`${2 * 33554432}b`); // disk + its snapshot, never overcommitted
    expect(extend?.slice(-3)).toEqual(['--poolmetadatasize', `${2 * 2 ** 20}b`, `${VG}/lv-one-7-pool`]);
    const create = lvm.find((a) => a[1] === 'lvcreate');
    expect(create).toEqual(
      expect.arrayContaining(['--snapshot', '--name', 'lv-one-7-0-snap-2', `${VG}/lv-one-7-0`]),
    );
    expect(create).not.toContain('--size'); // thin: no COW size
    expect(fake.argvs.some((a) => a[0] === 'virsh')).toBe(false);
  });

  const live = (fsFreeze?: string): OneClient => ({
    ...oned,
    vm: async (id) => ({
      id,
      state: 3,
      lcmState: 3,
      disks: [],
      lastHost: 'node1',
      deployId: `one-${id}`,
      fsFreeze,
    }),
  });
  /** What ran on the host, as words: `lvextend`, `domfsfreeze` … */
  const steps = (fake: FakeRunner) =>
    fake.argvs
      .map((a) => (a[0] === 'virsh' ? (a[3] as string) : (a[1] as string)))
      .filter((w) => w !== 'lvs');

  it('snap_create_live: the same snapshot, the guest frozen only around the lvcreate (pool grown before)', async () => {
    const fake = thinSnapshotHost();
    fake.on((a) => a[0] === 'virsh', {});
    const r = await run('snap_create_live', [`node1:${DISK}`, '2', '7', '100'], fake, live());
    expect(r.plain, r.err).toEqual([]);
    expect(steps(fake).slice(1)).toEqual(['lvextend', 'domfsfreeze', 'lvcreate', 'domfsthaw']);
    expect(fake.argvs.find((a) => a[0] === 'virsh')).toEqual([
      'virsh',
      '-c',
      'qemu:///system',
      'domfsfreeze',
      'one-7',
    ]);
    expect(r.err).toMatch(/INFO: snap_create_live: froze one-7 \(domfsfreeze\) on node1 in \d+ ms/);
  });

  it('snap_create_live with FS_FREEZE=SUSPEND, and a failing lvcreate: resumed, the lvcreate line', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on(lvmCommand('lvcreate', `${VG}/lv-one-7-0`), {
      exitCode: 5,
      stderr: '  Insufficient free space\n',
    });
    thinSnapshotHost(fake);
    fake.on((a) => a[0] === 'virsh', {});
    const r = await run('snap_create_live', [`node1:${DISK}`, '2', '7', '100'], fake, live('SUSPEND'));
    expect(r.code).toBe(1);
    expect(r.plain).toHaveLength(1);
    expect(steps(fake).slice(1)).toEqual(['lvextend', 'suspend', 'lvcreate', 'resume']);
  });

  it('snap_create_live with a hostile DEPLOY_ID: one line, nothing frozen, no snapshot', async () => {
    const fake = thinSnapshotHost();
    const one: OneClient = {
      ...oned,
      vm: async (id) => ({ ...(await live().vm(id)), deployId: '-c;reboot' }),
    };
    const r = await run('snap_create_live', [`node1:${DISK}`, '2', '7', '100'], fake, one);
    expect(r.plain).toEqual(['deploy id "-c;reboot" is not a libvirt domain name']);
    expect(new Set(fake.argvs.filter((a) => a[0] === 'lvm').map((a) => a[1]))).toEqual(new Set(['lvs'])); // reads only
    expect(fake.argvs.some((a) => a[0] === 'virsh')).toBe(false);
  });
});

/** node1 with thin disk 0 of VM 7 in its pool, snapshot 2 missing until the lvcreate (answers added to `fake`). */
function thinSnapshotHost(fake = new FakeRunner({ host: 'node1' })): FakeRunner {
  fake.on(['find', DISK, '-maxdepth', '0', '-printf', '%y\\t%l\\n'], {
    stdout: `l\t/dev/${VG}/lv-one-7-0\n`,
  });
  fake.on(lvmCommand('lvs', `${VG}/lv-one-7-0`), report(lvRow('lv-one-7-0', 'lv-one-7-pool')));
  fake.on(
    lvmCommand('lvs', `${VG}/lv-one-7-pool`),
    report({ ...lvRow('lv-one-7-pool'), lv_size: '41943040' }),
  );
  fake.on(
    lvmCommand('lvs', `${VG}/lv-one-7-0-snap-2`),
    {
      exitCode: 5,
      stderr: `  Failed to find logical volume "${VG}/lv-one-7-0-snap-2"\n`,
    },
    { times: 1 },
  );
  fake.on(
    lvmCommand('lvs', `${VG}/lv-one-7-0-snap-2`),
    report(lvRow('lv-one-7-0-snap-2', 'lv-one-7-pool', 'lv-one-7-0', false)),
  );
  fake.on(lvmCommand('lvs', VG), report(lvRow('lv-one-7-0', 'lv-one-7-pool'), lvRow('lv-one-7-pool')));
  fake.on(lvmCommand('lvextend', `${VG}/lv-one-7-pool`), { stdout: '{}' });
  fake.on(lvmCommand('lvcreate', `${VG}/lv-one-7-0`), { stdout: '' });
  fake.on(lvmCommand('lvchange', `${VG}/lv-one-7-0-snap-2`), { stdout: '' });
  return fake;
}

describe('mv between system datastores: argv', () => {
  it('refuses a move that changes the disk id: one line, no host touched', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    const r = await run(
      'mv',
      [
        'node1:/var/lib/one/datastores/100/7/disk.0',
        'node1:/var/lib/one/datastores/105/7/disk.1',
        '7',
        '100',
      ],
      fake,
    );
    expect(r.code).toBe(1);
    expect(r.plain).toEqual([
      'mv /var/lib/one/datastores/100/7/disk.0 to /var/lib/one/datastores/105/7/disk.1: not the same disk',
    ]);
    expect(fake.argvs).toEqual([]);
  });

  it('refuses a move to another VM directory', async () => {
    const r = await run(
      'mv',
      ['node1:/var/lib/one/datastores/100/7', 'node1:/var/lib/one/datastores/105/8', '7', '100'],
      new FakeRunner({ host: 'node1' }),
    );
    expect(r.code).toBe(1);
    expect(r.plain[0]).toMatch(/VM id 7 does not match the path \/var\/lib\/one\/datastores\/105\/8/);
  });
});

describe('cpds with a snapshot id', () => {
  it('of a thick disk: one line, no LV made', async () => {
    const fake = node1(lvRow('lv-one-7-0'));
    const r = await run('cpds', [`node1:${DISK}`, 'vg-one-101/lv-oneimg-9', '0', '7', '101'], fake);
    expect(r.code).toBe(1);
    expect(r.plain).toEqual(['cpds of snapshot 0: snapshots not supported (thick LVs)']);
    expect(fake.argvs.some((a) => a[1] === 'lvcreate')).toBe(false);
  });
});
