/**
 * PINNED BEHAVIOUR of every TM action (issue 15): exit code, stdout and stderr of each action for a
 * fixed set of inputs — wrong argument counts, hostile arguments, the refusals reachable without a
 * cluster (unsupported action, oned without the VM/datastore, configuration errors, no usable host)
 * and success paths against fake hosts (FakeRunner, answering the commands with a small LV model)
 * and a fake oned. Success cases run with DEBUG=yes, so stderr lists every host command sent.
 *
 * Each case is one file in test/__pinned__/tm/<case>.txt. These snapshots are the reference the
 * move of the shared code into packages/driver-runtime (and any other refactor) must keep:
 * NEVER update them (`vitest -u`) to make a refactor pass — a changed snapshot means changed
 * behaviour; fix the change instead. Only `runAction` of the package entry (src/index.ts) is used,
 * so this file survives the move unchanged (imported by path: the type check of a fresh clone runs
 * before this package's own dist/index.d.ts exists).
 *
 * Normalised (the only replaces, see `normalise` of `pinner` in @one-gfs2clvm/driver-runtime/testing): timings (` in <n> ms`, ` took <n> s`), the per-run temporary
 * directory (`<tmp>`), random temporary file names (`.<random>.tmp`), the stack frames of internal errors, which name source files and lines (` at …`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
type Vm = Awaited<ReturnType<One['vm']>>;
type Disk = Vm['disks'][number];

const TMP = mkdtempSync(join(tmpdir(), 'tm-pinned-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const VG = 'vg-one-100';
const IMG_VG = 'vg-one-101';
const DIR = '/var/lib/one/datastores/100/7';

function disk(id: number, fields: Partial<Disk>): Disk {
  return {
    id,
    sizeMiB: 64,
    type: 'BLOCK',
    fs: '',
    format: 'raw',
    source: '',
    datastoreId: 101,
    tmMad: 'gfs2clvm',
    persistent: false,
    clone: true,
    readonly: false,
    ...fields,
  };
}

const VM7: Vm = {
  id: 7,
  state: 3,
  lcmState: 3,
  lastHost: 'node1',
  systemDsId: 100,
  disks: [
    disk(0, { source: `${IMG_VG}/lv-oneimg-42`, sizeMiB: 128 }),
    disk(1, { source: `${IMG_VG}/lv-oneimg-43`, persistent: true, clone: false }),
    disk(2, { type: 'swap', sizeMiB: 32, datastoreId: 100, clone: false }),
    disk(3, { type: 'fs', fs: 'ext4', sizeMiB: 64, datastoreId: 100, clone: false }),
  ],
};

/** oned: VM 7, system datastore 100, image datastore 101, hosts node1 and node2 in cluster 0. */
const oned = (vm: Vm | undefined = VM7): One => ({
  vm: async (id) => {
    if (!vm || id !== vm.id) throw new Error(`[one.vm.info] Error getting virtual machine [${id}].`);
    return structuredClone(vm);
  },
  datastore: async (id) => {
    if (id !== 100 && id !== 101) throw new Error(`[one.datastore.info] Error getting datastore [${id}].`);
    return {
      id,
      name: id === 100 ? 'system' : 'images',
      type: id === 100 ? 1 : 0,
      tmMad: 'gfs2clvm',
      template: {},
      clusterIds: [0],
    };
  },
  hosts: async () => [
    { id: 0, name: 'node1', state: 2, clusterId: 0 },
    { id: 1, name: 'node2', state: 2, clusterId: 0 },
  ],
});

const noHostsOned: One = { ...oned(), hosts: async () => [] };

type Case = PinnedCase<One>;

const b64 = (text: string) => Buffer.from(text).toString('base64');
const pin = pinner(TMP, runAction, oned);

const with_ = (argv: readonly string[], index: number, value: string) =>
  argv.map((a, i) => (i === index ? value : a));

const DISK0 = `node1:${DIR}/disk.0`;
/** A good argv per action (what oned sends), the base of the usage and hostile cases. */
const GOOD: Record<string, string[]> = {
  clone: [`fe:${IMG_VG}/lv-oneimg-42`, DISK0, '7', '101'],
  ln: [`fe:${IMG_VG}/lv-oneimg-43`, `node1:${DIR}/disk.1`, '7', '101'],
  mkimage: ['64', 'raw', `node1:${DIR}/disk.3`, '7', '100'],
  mkswap: ['32', `node1:${DIR}/disk.2`, '7', '100'],
  delete: [DISK0, '7', '100'],
  mv: [DISK0, `node2:${DIR}/disk.0`, '7', '100'],
  mvds: [`node1:${DIR}/disk.1`, `${IMG_VG}/lv-oneimg-43`, '7', '101'],
  cpds: [DISK0, `${IMG_VG}/lv-oneimg-50`, '-1', '7', '101'],
  context: ['/var/lib/one/vms/7/context.sh', `node1:${DIR}/disk.4`, '7', '100'],
  premigrate: ['node1', 'node2', DIR, '7', '100'],
  postmigrate: ['node1', 'node2', DIR, '7', '100'],
  failmigrate: ['node1', 'node2', DIR, '7', '100'],
  resize: [DISK0, '256', '7', '100'],
  monitor: ['100'],
  snap_create: [DISK0, '0', '7', '100'],
  snap_create_live: [DISK0, '0', '7', '100'],
  snap_delete: [DISK0, '0', '7', '100'],
  snap_revert: [DISK0, '0', '7', '100'],
  prebackup: [`node1:${DIR}`, '0:1', 'one-7', '-', '7', '100'],
  postbackup: [`node1:${DIR}`, '0:1', 'one-7', '-', '7', '100'],
};

/** Wrong counts: none, and one too many (two for the migrate actions, whose 6th word is legal). */
function usageCases(action: string): [string, Case][] {
  const good = GOOD[action] as string[];
  const extra = action.endsWith('migrate') ? ['shared', 'x'] : action === 'monitor' ? ['x', 'y'] : ['x'];
  return [
    [`${action}-args-0`, { action, argv: [] }],
    [`${action}-args-too-many`, { action, argv: [...good, ...extra] }],
  ];
}

/** Hostile words in each position an action reads: metacharacters, `..`, leading `-`, huge and bad ids. */
function hostileCases(action: string): [string, Case][] {
  const good = GOOD[action] as string[];
  const cases: [string, Case][] = [];
  good.forEach((word, i) => {
    const variants: [string, string][] = [];
    if (word.includes(':') && word.includes('/')) {
      const [host, path] = [word.slice(0, word.indexOf(':')), word.slice(word.indexOf(':') + 1)];
      variants.push(['dotdot', `${host}:${path.replace('/7/', '/7/../../x/')}`]);
      variants.push(['dash-host', `-oProxyCommand=x:${path}`]);
      variants.push(['meta', `${host}:${path};reboot`]);
    } else if (word.startsWith('/')) {
      variants.push(['dotdot', word.replace('/7', '/7/../..')]);
      variants.push(['meta', `${word}$(id)`]);
    } else if (/^-?[0-9]+$/.test(word)) {
      variants.push(['huge', '99999999999']);
      variants.push(['neg', '-5']);
      variants.push(['meta', `${word};x`]);
    } else if (word.includes('/')) {
      variants.push(['dash', `${word.split('/')[0]}/-rf`]);
      variants.push(['meta', `${word}\`id\``]);
    } else {
      variants.push(['dash', `-${word}`]);
      variants.push(['meta', `${word}|x`]);
    }
    for (const [kind, value] of variants.filter(([, v]) => v !== word))
      cases.push([`${action}-arg${i}-${kind}`, { action, argv: with_(good, i, value) }]);
  });
  return cases;
}

describe('pinned: every TM action, refused before any host', () => {
  const cases: [string, Case][] = [];
  for (const action of UNSUPPORTED_ACTIONS)
    cases.push([`${action}-unsupported`, { action, argv: [DISK0, '0', '7', '100'] }]);
  cases.push(['unknown-action', { action: 'foobar\n;rm -rf /', argv: [] }]);
  for (const action of SUPPORTED_ACTIONS) cases.push(...usageCases(action), ...hostileCases(action));

  it.each(cases)('%s', async (name, c) => {
    await expect(await pin(c)).toMatchFileSnapshot(`__pinned__/tm/${name}.txt`);
  });
});

describe('pinned: configuration, oned and host refusals', () => {
  const cases: [string, Case][] = [
    ['config-bad-backend', { action: 'mkswap', argv: GOOD.mkswap as string[], config: 'badBackend' }],
    ['config-bad-lock-mode', { action: 'delete', argv: GOOD.delete as string[], config: 'badLockMode' }],
    ['config-bad-line', { action: 'clone', argv: GOOD.clone as string[], config: 'badLine' }],
    ['config-unknown-key', { action: 'resize', argv: GOOD.resize as string[], config: 'unknownKey' }],
    ['clone-vm-missing-in-oned', { action: 'clone', argv: GOOD.clone as string[], one: oned(undefined) }],
    [
      'mkimage-vm-missing-in-oned',
      { action: 'mkimage', argv: GOOD.mkimage as string[], one: oned(undefined) },
    ],
    ['clone-datastore-missing', { action: 'clone', argv: with_(GOOD.clone as string[], 3, '102') }],
    ['delete-datastore-missing', { action: 'delete', argv: with_(GOOD.delete as string[], 2, '102') }],
    ['clone-host-unreachable', { action: 'clone', argv: GOOD.clone as string[] }],
    ['monitor-no-host', { action: 'monitor', argv: ['100'], stdin: b64(monitorXml()), one: noHostsOned }],
    ['monitor-payload-not-xml', { action: 'monitor', argv: ['100'], stdin: b64('<DS_DRIVER_ACTION_DATA>') }],
    ['monitor-payload-other-ds', { action: 'monitor', argv: ['101'], stdin: b64(monitorXml()) }],
    ['delete-frontend-no-host', { action: 'delete', argv: [`fe:${DIR}`, '7', '100'], one: noHostsOned }],
    ['premigrate-same-host', { action: 'premigrate', argv: ['node1', 'node1', DIR, '7', '100'] }],
    ['premigrate-called-back', { action: 'premigrate', argv: [...(GOOD.premigrate as string[]), 'shared'] }],
    [
      'context-file-restricted',
      {
        action: 'context',
        argv: ['/var/lib/one/vms/7/context.sh', '/etc/shadow', `node1:${DIR}/disk.4`, '7', '100'],
      },
    ],
  ];

  it.each(cases)('%s', async (name, c) => {
    await expect(await pin(c)).toMatchFileSnapshot(`__pinned__/tm/${name}.txt`);
  });
});

/** oned's context.sh for VM 7, on the front-end. */
function contextSh(): string {
  const file = join(TMP, 'context.sh');
  writeFileSync(file, "# Context variables generated by OpenNebula\nHOSTNAME='vm7'\n");
  return file;
}

function monitorXml(): string {
  return '<DS_DRIVER_ACTION_DATA><DATASTORE><ID>100</ID><NAME>system</NAME><TYPE>1</TYPE><CLUSTERS><ID>0</ID></CLUSTERS><TEMPLATE><TM_MAD>gfs2clvm</TM_MAD></TEMPLATE></DATASTORE></DS_DRIVER_ACTION_DATA>';
}

/** The LVs of the fake cluster before each success case (fresh per case). */
function lvState(): Record<string, FakeLv> {
  return {
    [`${IMG_VG}/lv-oneimg-42`]: { sizeMiB: 128 },
    [`${IMG_VG}/lv-oneimg-43`]: { sizeMiB: 64 },
    [`${VG}/lv-one-7-0`]: { sizeMiB: 128, active: true, tags: ['one_active_node1'] },
  };
}

function imagesOnly(): Record<string, FakeLv> {
  const lvs = lvState();
  delete lvs[`${VG}/lv-one-7-0`];
  return lvs;
}

const LINKS = {
  [`${DIR}/disk.0`]: `/dev/${VG}/lv-one-7-0`,
  [`${DIR}/disk.1`]: `/dev/${IMG_VG}/lv-oneimg-43`,
};

/** node1 and node2 sharing one LV map, answering `find` from `links`. */
function cluster(links: Record<string, string> = LINKS, lvs = lvState()) {
  return () => ({
    node1: fakeHost('node1', lvs, [findRule(links)]),
    node2: fakeHost('node2', lvs, [findRule(links)]),
  });
}

const VM_XML =
  '<VM><ID>7</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE><TEMPLATE>' +
  '<DISK><DISK_ID>0</DISK_ID><TYPE>BLOCK</TYPE></DISK><DISK><DISK_ID>1</DISK_ID><TYPE>BLOCK</TYPE><PERSISTENT>YES</PERSISTENT></DISK>' +
  '</TEMPLATE></VM>';

describe('pinned: success paths against fake hosts (DEBUG=yes: stderr lists the host commands)', () => {
  const ok = (action: string, argv: string[], extra: Partial<Case> = {}): Case => ({
    action,
    argv,
    config: 'debug',
    hosts: cluster(),
    ...extra,
  });
  const cases: [string, Case][] = [
    ['clone-ok', ok('clone', GOOD.clone as string[], { hosts: cluster({}, imagesOnly()) })],
    ['ln-ok', ok('ln', GOOD.ln as string[], { hosts: cluster({}) })],
    ['mkimage-ok', ok('mkimage', GOOD.mkimage as string[], { hosts: cluster({}) })],
    ['mkswap-ok', ok('mkswap', GOOD.mkswap as string[], { hosts: cluster({}) })],
    ['delete-disk-ok', ok('delete', GOOD.delete as string[])],
    ['delete-vmdir-ok', ok('delete', [`node1:${DIR}`, '7', '100'])],
    ['delete-missing-ok', ok('delete', GOOD.delete as string[], { hosts: cluster({}, {}) })],
    ['mv-ok', ok('mv', GOOD.mv as string[])],
    ['mv-vmdir-ok', ok('mv', [`node1:${DIR}`, `node2:${DIR}`, '7', '100'])],
    ['mvds-ok', ok('mvds', GOOD.mvds as string[])],
    ['cpds-ok', ok('cpds', GOOD.cpds as string[])],
    ['context-ok', ok('context', with_(GOOD.context as string[], 0, contextSh()))],
    ['premigrate-ok', ok('premigrate', GOOD.premigrate as string[], { stdin: b64(VM_XML) })],
    ['postmigrate-ok', ok('postmigrate', GOOD.postmigrate as string[], { stdin: b64(VM_XML) })],
    ['failmigrate-ok', ok('failmigrate', GOOD.failmigrate as string[], { stdin: b64(VM_XML) })],
    ['resize-ok', ok('resize', GOOD.resize as string[])],
    ['monitor-ok', ok('monitor', ['100'], { stdin: b64(monitorXml()) })],
    ['monitor-argv-payload-ok', ok('monitor', [b64(monitorXml()), '100'])],
    ['snap_create-thick', ok('snap_create', GOOD.snap_create as string[])],
    ['snap_create_live-thick', ok('snap_create_live', GOOD.snap_create_live as string[])],
    ['snap_delete-thick', ok('snap_delete', GOOD.snap_delete as string[])],
    ['snap_revert-thick', ok('snap_revert', GOOD.snap_revert as string[])],
  ];

  it.each(cases)('%s', async (name, c) => {
    await expect(await pin(c)).toMatchFileSnapshot(`__pinned__/tm/${name}.txt`);
  });
});
