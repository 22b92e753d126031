/**
 * PINNED BEHAVIOUR of every DS action (issue 15): exit code, stdout and stderr of each action for a
 * fixed set of inputs — wrong argument counts, hostile ids and payloads, the refusals reachable
 * without a cluster (unsupported and unknown actions, configuration errors, payload checks, no
 * usable host) and success paths against fake hosts (FakeRunner, answering the commands with a small
 * LV model) and a fake oned. Success cases run with DEBUG=yes, so stderr lists every host command.
 *
 * Each case is one file in test/__pinned__/ds/<case>.txt. These snapshots are the reference the
 * move of the shared code into packages/driver-runtime (and any other refactor) must keep:
 * NEVER update them (`vitest -u`) to make a refactor pass — a changed snapshot means changed
 * behaviour; fix the change instead. Only `runAction` of the package entry (src/index.ts) is used,
 * so this file survives the move unchanged (imported by path: the type check of a fresh clone runs
 * before this package's own dist/index.d.ts exists).
 *
 * Normalised (the only replaces, see `normalise` of `pinner` in @one-gfs2clvm/driver-runtime/testing): timings (` in <n> ms`, ` took <n> s`), the per-run
 * temporary directory (`<tmp>`), random temporary file names (`.<random>.tmp`), the stack frames of
 * internal errors, which name source files and lines (` at …`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FakeLv,
  fakeHost,
  findRule,
  type PinnedCase,
  pinner,
} from '@one-gfs2clvm/driver-runtime/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runAction, SUPPORTED_ACTIONS, UNSUPPORTED_ACTIONS } from '../src/index.js';

type Options = Parameters<typeof runAction>[2];
type One = NonNullable<Options['one']>;

const TMP = mkdtempSync(join(tmpdir(), 'ds-pinned-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const VG = 'vg-one-100';
const MiB = 2 ** 20;

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}.xml`, import.meta.url), 'utf8');

/** What each base64 payload is, for the snapshot header (the base64 itself is unreadable). */
const ABOUT = new Map<string, string>();
function b64(text: string, about = JSON.stringify(text)): string {
  const encoded = Buffer.from(text).toString('base64');
  ABOUT.set(encoded, `base64 of ${about}`);
  return encoded;
}
const payload = (file: string) => b64(fixture(file), `fixtures/${file}.xml`);

/** Owner and group of VM 7 and image 400, with oned's permission flags (`um-u-----`). */
const OWNER = {
  uid: 5,
  gid: 100,
  permissions: {
    owner: { use: true, manage: true, admin: false },
    group: { use: true, manage: false, admin: false },
    other: { use: false, manage: false, admin: false },
  },
};

/** oned: VM 7 of alice (disk 0 an LV of the system DS 100), image 400, user 5, hosts node1 and node2. */
const oned = (): One => ({
  vm: async (id) => {
    if (id !== 7) throw new Error(`[one.vm.info] Error getting virtual machine [${id}].`);
    const disk = {
      id: 0,
      sizeMiB: 2048,
      type: 'BLOCK',
      fs: '',
      format: 'raw',
      source: `${VG}/lv-oneimg-400`,
      datastoreId: 102,
      tmMad: 'gfs2clvm',
      persistent: false,
      clone: true,
      readonly: false,
    };
    return { id: 7, state: 8, lcmState: 0, lastHost: 'node1', systemDsId: 100, owner: OWNER, disks: [disk] };
  },
  datastore: async (id) => {
    if (id !== 100 && id !== 102) throw new Error(`[one.datastore.info] Error getting datastore [${id}].`);
    return {
      id,
      name: 'ds',
      type: id === 100 ? 1 : 0,
      tmMad: 'gfs2clvm',
      template: { VG_NAME: VG },
      clusterIds: [0],
    };
  },
  hosts: async () => [
    { id: 0, name: 'node1', state: 2, clusterId: 0 },
    { id: 1, name: 'node2', state: 2, clusterId: 0 },
  ],
  image: async (id) => {
    if (id !== 400) throw new Error(`[one.image.info] Error getting image [${id}].`);
    return {
      id,
      name: 'debian12',
      owner: OWNER,
      source: `${VG}/lv-oneimg-400`,
      persistent: false,
      state: 1,
      datastoreId: 102,
      runningVms: 0,
      vmIds: [],
      sizeMiB: 2048,
    };
  },
  user: async (id) => {
    if (id !== 5) throw new Error(`[one.user.info] Error getting user [${id}].`);
    return { id, gid: 100, groups: [100] };
  },
});

const noHostsOned = (): One => ({ ...oned(), hosts: async () => [] });

type Case = PinnedCase<One>;

const pin = pinner(TMP, runAction, oned, (stdin) => ABOUT.get(stdin));

/** The payload fixture each action gets in the usage and hostile cases. */
const PAYLOAD: Record<string, [string, string]> = {
  cp: ['cp-lvm', '403'],
  mkfs: ['mkfs-datablock', '408'],
  rm: ['rm', '402'],
  stat: ['stat', '0'],
  clone: ['clone', '409'],
  monitor: ['monitor', '102'],
};

describe('pinned: every DS action, refused before any host', () => {
  const cases: [string, Case][] = [];
  for (const action of UNSUPPORTED_ACTIONS)
    cases.push([`${action}-unsupported`, { action, argv: ['402'], stdin: payload('rm') }]);
  cases.push(['unknown-action', { action: 'cp\n;rm -rf /', argv: ['7'] }]);
  for (const action of SUPPORTED_ACTIONS) {
    const [file, id] = PAYLOAD[action] as [string, string];
    const data = payload(file);
    cases.push([`${action}-args-0`, { action, argv: [] }]);
    cases.push([`${action}-args-too-many`, { action, argv: [data, id, 'x'] }]);
    const hostile: [string, string][] = [
      ['neg', '-1'],
      ['dotdot', '../7'],
      ['meta', `${id};reboot`],
      ['subst', '$(id)'],
      ['huge', '99999999999'],
      ['dash', '-rf'],
      ['empty', ''],
    ];
    for (const [kind, bad] of hostile)
      cases.push([`${action}-id-${kind}`, { action, argv: [bad], stdin: data }]);
    cases.push([`${action}-other-id`, { action, argv: ['4000'], stdin: data }]);
    cases.push([`${action}-payload-not-base64`, { action, argv: [id], stdin: 'not base64 !' }]);
    cases.push([`${action}-payload-not-xml`, { action, argv: [id], stdin: b64('<DS_DRIVER_ACTION_DATA>') }]);
    cases.push([`${action}-payload-empty`, { action, argv: [id], stdin: '' }]);
  }

  it.each(cases)('%s', async (name, c) => {
    await expect(await pin(c)).toMatchFileSnapshot(`__pinned__/ds/${name}.txt`);
  });
});

/** A payload fixture with one element's text replaced (hostile PATH, SIZE, FS …). */
function payloadWith(file: string, element: string, value: string): string {
  const xml = fixture(file);
  const re = new RegExp(`<${element}>(<!\\[CDATA\\[)?[^<]*?(\\]\\]>)?</${element}>`);
  if (!re.test(xml)) throw new Error(`${file} has no ${element}`);
  return b64(
    xml.replace(re, `<${element}><![CDATA[${value}]]></${element}>`),
    `fixtures/${file}.xml with ${element} ${JSON.stringify(value)}`,
  );
}

describe('pinned: configuration, payload, oned and host refusals', () => {
  const cases: [string, Case][] = [
    ['config-bad-backend', { action: 'rm', argv: ['402'], stdin: payload('rm'), config: 'badBackend' }],
    [
      'config-bad-lock-mode',
      { action: 'mkfs', argv: ['408'], stdin: payload('mkfs-datablock'), config: 'badLockMode' },
    ],
    ['config-bad-line', { action: 'cp', argv: ['403'], stdin: payload('cp-lvm'), config: 'badLine' }],
    ['rm-no-host', { action: 'rm', argv: ['402'], stdin: payload('rm'), one: noHostsOned() }],
    ['monitor-no-host', { action: 'monitor', argv: ['102'], stdin: payload('monitor'), one: noHostsOned() }],
    ['rm-hosts-unreachable', { action: 'rm', argv: ['402'], stdin: payload('rm') }],
    [
      'rm-foreign-source',
      { action: 'rm', argv: ['402'], stdin: payloadWith('rm', 'SOURCE', `${VG}/lv-one-7-0`) },
    ],
    ['rm-dash-source', { action: 'rm', argv: ['402'], stdin: payloadWith('rm', 'SOURCE', `${VG}/-rf`) }],
    [
      'mkfs-qcow2',
      { action: 'mkfs', argv: ['408'], stdin: payloadWith('mkfs-datablock', 'FORMAT', 'qcow2') },
    ],
    ['mkfs-bad-fs', { action: 'mkfs', argv: ['408'], stdin: payloadWith('mkfs-datablock', 'FS', 'ntfs;x') }],
    [
      'mkfs-huge-size',
      { action: 'mkfs', argv: ['408'], stdin: payloadWith('mkfs-datablock', 'SIZE', '99999999999999') },
    ],
    ['mkfs-zero-size', { action: 'mkfs', argv: ['408'], stdin: payloadWith('mkfs-datablock', 'SIZE', '0') }],
    [
      'clone-dotdot-path',
      { action: 'clone', argv: ['409'], stdin: payloadWith('clone', 'PATH', `${VG}/../etc`) },
    ],
    ['cp-vm-missing', { action: 'cp', argv: ['403'], stdin: payloadWith('cp-lvm', 'PATH', 'lvm://8/0') }],
    ['cp-image-missing', { action: 'cp', argv: ['405'], stdin: payloadWith('cp-vol', 'PATH', 'vol://401') }],
    [
      'cp-frontend-restricted',
      { action: 'cp', argv: ['401'], stdin: payloadWith('cp-frontend-file', 'PATH', '/proc/1/environ') },
    ],
    [
      'stat-restricted',
      { action: 'stat', argv: ['0'], stdin: payloadWith('stat', 'PATH', '/proc/1/environ') },
    ],
    [
      'stat-missing',
      { action: 'stat', argv: ['0'], stdin: payloadWith('stat', 'PATH', '/var/tmp/no-such-upload-4000') },
    ],
  ];
  for (const path of [
    'lvm://1/../2',
    'ftp://x/y',
    'relative/path',
    'vol://-1',
    'file:///etc/shadow',
    'http://169.254.169.254/latest',
    '-o/x',
  ])
    cases.push([
      `cp-path-${path.replace(/[^a-z0-9]+/gi, '_')}`,
      { action: 'cp', argv: ['403'], stdin: payloadWith('cp-lvm', 'PATH', path) },
    ]);

  it.each(cases)('%s', async (name, c) => {
    await expect(await pin(c)).toMatchFileSnapshot(`__pinned__/ds/${name}.txt`);
  });
});

/** An uploaded raw image on the front-end: 3 MiB of a fixed pattern. */
function upload(): string {
  const file = join(TMP, 'upload.raw');
  writeFileSync(file, Buffer.alloc(3 * MiB, 'gfs2clvm'));
  return file;
}

/** The LVs of the fake cluster before each success case (fresh per case). */
function lvState(): Record<string, FakeLv> {
  return {
    [`${VG}/lv-oneimg-400`]: { sizeMiB: 2048 },
    [`${VG}/lv-oneimg-402`]: { sizeMiB: 40 },
    [`${VG}/lv-one-7-0`]: { sizeMiB: 2048 },
  };
}

function cluster(lvs = lvState()) {
  return () => ({
    node1: fakeHost('node1', lvs, [findRule({})]),
    node2: fakeHost('node2', lvs, [findRule({})]),
  });
}

describe('pinned: success paths against fake hosts (DEBUG=yes: stderr lists the host commands)', () => {
  const ok = (action: string, file: string, id: string): Case => ({
    action,
    argv: [id],
    stdin: payload(file),
    config: 'debug',
    hosts: cluster(),
  });
  const cases: [string, Case][] = [
    ['stat-ok', { ...ok('stat', 'stat', '0'), stdin: payloadWith('stat', 'PATH', upload()) }],
    [
      'cp-frontend-ok',
      { ...ok('cp', 'cp-frontend-file', '401'), stdin: payloadWith('cp-frontend-file', 'PATH', upload()) },
    ],
    ['rm-ok', ok('rm', 'rm', '402')],
    ['rm-argv-payload-ok', { ...ok('rm', 'rm', '402'), argv: [payload('rm'), '402'], stdin: '' }],
    ['mkfs-ok', ok('mkfs', 'mkfs-datablock', '408')],
    ['mkfs-save-as-ok', ok('mkfs', 'mkfs-save-as', '407')],
    ['clone-ok', ok('clone', 'clone', '409')],
    ['monitor-ok', ok('monitor', 'monitor', '102')],
    ['cp-lvm-ok', ok('cp', 'cp-lvm', '403')],
    ['cp-vol-ok', ok('cp', 'cp-vol', '405')],
  ];

  it.each(cases)('%s', async (name, c) => {
    await expect(await pin(c)).toMatchFileSnapshot(`__pinned__/ds/${name}.txt`);
  });
});
