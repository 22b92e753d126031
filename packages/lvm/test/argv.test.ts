import { describe, expect, it } from 'vitest';
import {
  buildHelperCommands,
  buildLvmCommands,
  type Capabilities,
  helperReactivateBootArgv,
  helperWipeArgv,
  LV_FIELDS,
  LV_VG_FIELDS,
  LVM_CONFIG,
  LVM_CONFIG_JSON_LOG,
  type Operation,
} from '../src/index.js';

const NEW: Capabilities = { jsonStd: true, setAutoActivation: true };
const OLD: Capabilities = { jsonStd: false, setAutoActivation: false };
const J = ['--config', LVM_CONFIG_JSON_LOG, '--reportformat', 'json_std'];
const P = ['--config', LVM_CONFIG];
const NOAUTO = ['--setautoactivation', 'n'];
const MiB = 2 ** 20;

const table: [string, Operation, string[][], string[][]][] = [
  [
    'report LVs of a VG',
    { op: 'reportLvs', vg: 'vg1' },
    [
      [
        'lvs',
        ...J,
        '--units',
        'b',
        '--nosuffix',
        '--binary',
        '--options',
        [...LV_FIELDS, ...LV_VG_FIELDS].join(','),
        'vg1',
      ],
    ],
    [['report', 'lvs', 'vg1']],
  ],
  [
    'report one LV',
    { op: 'reportLvs', vg: 'vg1', lv: 'lv1' },
    [
      [
        'lvs',
        ...J,
        '--units',
        'b',
        '--nosuffix',
        '--binary',
        '--options',
        [...LV_FIELDS, ...LV_VG_FIELDS].join(','),
        'vg1/lv1',
      ],
    ],
    [['report', 'lvs', 'vg1', 'lv1']],
  ],
  [
    'create linear, active, tagged',
    {
      op: 'create',
      vg: 'vg1',
      lv: 'lv-one-7-0',
      sizeBytes: 64 * MiB,
      kind: 'linear',
      tags: ['t1', 't2'],
      activate: true,
    },
    [
      [
        'lvcreate',
        ...J,
        '--name',
        'lv-one-7-0',
        '--size',
        '67108864b',
        ...NOAUTO,
        '--addtag',
        't1',
        '--addtag',
        't2',
        '--activate',
        'y',
        '--yes',
        'vg1',
      ],
    ],
    [
      ['create', 'vg1', 'lv-one-7-0', '67108864', 'linear'],
      ['tag', 'vg1', 'lv-one-7-0', 'add', 't1'],
      ['tag', 'vg1', 'lv-one-7-0', 'add', 't2'],
    ],
  ],
  [
    'create linear, inactive',
    { op: 'create', vg: 'vg1', lv: 'lv1', sizeBytes: 512, kind: 'linear', tags: [], activate: false },
    [
      [
        'lvcreate',
        ...J,
        '--name',
        'lv1',
        '--size',
        '512b',
        ...NOAUTO,
        '--activate',
        'n',
        '--zero',
        'n',
        '--wipesignatures',
        'n',
        'vg1',
      ],
    ],
    [
      ['create', 'vg1', 'lv1', '512', 'linear'],
      ['deactivate', 'vg1', 'lv1'],
    ],
  ],
  [
    'create thin pool (no --reportformat: LVM refuses it for thin pools)',
    {
      op: 'create',
      vg: 'vg1',
      lv: 'pool0',
      sizeBytes: 64 * MiB,
      kind: 'thin-pool',
      tags: [],
      activate: true,
    },
    [
      [
        'lvcreate',
        ...P,
        '--type',
        'thin-pool',
        '--name',
        'pool0',
        '--size',
        '67108864b',
        '--activate',
        'y',
        '--yes',
        'vg1',
      ],
    ],
    [['create', 'vg1', 'pool0', '67108864', 'thin-pool']],
  ],
  [
    'create thin volume',
    { op: 'createThin', vg: 'vg1', pool: 'pool0', lv: 'thin1', sizeBytes: 2 ** 30, tags: [] },
    [
      [
        'lvcreate',
        ...P,
        '--type',
        'thin',
        '--virtualsize',
        '1073741824b',
        '--thinpool',
        'pool0',
        '--name',
        'thin1',
        '--yes',
        'vg1',
      ],
    ],
    [['create-thin', 'vg1', 'pool0', 'thin1', '1073741824']],
  ],
  [
    'thick snapshot',
    { op: 'snapshot', vg: 'vg1', origin: 'lv1', lv: 'snap1', sizeBytes: 8 * MiB, tags: [] },
    [['lvcreate', ...P, '--snapshot', '--name', 'snap1', '--size', '8388608b', 'vg1/lv1']],
    [['snapshot', 'vg1', 'lv1', 'snap1', '8388608']],
  ],
  [
    'thin snapshot',
    { op: 'snapshot', vg: 'vg1', origin: 'thin1', lv: 'snap1', tags: [] },
    [['lvcreate', ...P, '--snapshot', '--name', 'snap1', '--setactivationskip', 'n', 'vg1/thin1']],
    [['snapshot', 'vg1', 'thin1', 'snap1']],
  ],
  [
    'remove',
    { op: 'remove', vg: 'vg1', lv: 'lv1' },
    [['lvremove', ...J, '--yes', 'vg1/lv1']],
    [['remove', 'vg1', 'lv1']],
  ],
  [
    'rename',
    { op: 'rename', vg: 'vg1', from: 'a', to: 'b' },
    [['lvrename', ...J, 'vg1', 'a', 'b']],
    [['rename', 'vg1', 'a', 'b']],
  ],
  [
    'extend',
    { op: 'extend', vg: 'vg1', lv: 'lv1', sizeBytes: 2 ** 40 },
    [['lvextend', ...J, '--size', '1099511627776b', 'vg1/lv1']],
    [['extend', 'vg1', 'lv1', '1099511627776']],
  ],
  [
    'extend a thin pool with its metadata, one command',
    { op: 'extend', vg: 'vg1', lv: 'pool', sizeBytes: 2 ** 30, metadataSizeBytes: 2 ** 20 },
    [['lvextend', ...J, '--size', '1073741824b', '--poolmetadatasize', '1048576b', 'vg1/pool']],
    [['extend', 'vg1', 'pool', '1073741824', '1048576']],
  ],
  [
    'activate exclusive',
    { op: 'activate', vg: 'vg1', lv: 'lv1', mode: 'exclusive' },
    [['lvchange', ...J, '--activate', 'ey', 'vg1/lv1']],
    [['activate', 'vg1', 'lv1', 'exclusive']],
  ],
  [
    'activate shared',
    { op: 'activate', vg: 'vg1', lv: 'lv1', mode: 'shared' },
    [['lvchange', ...J, '--activate', 'sy', 'vg1/lv1']],
    [['activate', 'vg1', 'lv1', 'shared']],
  ],
  [
    'activate local',
    { op: 'activate', vg: 'vg1', lv: 'lv1', mode: 'local' },
    [['lvchange', ...J, '--activate', 'ly', 'vg1/lv1']],
    [['activate', 'vg1', 'lv1', 'local']],
  ],
  [
    'deactivate',
    { op: 'deactivate', vg: 'vg1', lv: 'lv1' },
    [['lvchange', ...J, '--activate', 'n', 'vg1/lv1']],
    [['deactivate', 'vg1', 'lv1']],
  ],
  [
    'activate exclusive and add a tag, one command',
    { op: 'activate', vg: 'vg1', lv: 'lv1', mode: 'exclusive', addTags: ['one_active_node1'] },
    [['lvchange', ...P, '--addtag', 'one_active_node1', '--activate', 'ey', 'vg1/lv1']],
    [['activate', 'vg1', 'lv1', 'exclusive', 'one_active_node1']],
  ],
  [
    'activate exclusive and add two tags, one command',
    { op: 'activate', vg: 'vg1', lv: 'lv1', mode: 'exclusive', addTags: ['one_active_node1', 'one_written'] },
    [
      [
        'lvchange',
        ...P,
        '--addtag',
        'one_active_node1',
        '--addtag',
        'one_written',
        '--activate',
        'ey',
        'vg1/lv1',
      ],
    ],
    [['activate', 'vg1', 'lv1', 'exclusive', 'one_active_node1', 'one_written']],
  ],
  [
    'activate with an empty tag list: no tag, JSON output',
    { op: 'activate', vg: 'vg1', lv: 'lv1', mode: 'shared', addTags: [] },
    [['lvchange', ...J, '--activate', 'sy', 'vg1/lv1']],
    [['activate', 'vg1', 'lv1', 'shared']],
  ],
  [
    'deactivate and delete a tag, one command',
    { op: 'deactivate', vg: 'vg1', lv: 'lv1', delTag: 'one_active_node1' },
    [['lvchange', ...P, '--deltag', 'one_active_node1', '--activate', 'n', 'vg1/lv1']],
    [['deactivate', 'vg1', 'lv1', 'one_active_node1']],
  ],
  [
    'deactivate and add a tag (seal), one command',
    { op: 'deactivate', vg: 'vg1', lv: 'lv1', addTag: 'one_map.1.2.AbC-_' },
    [['lvchange', ...P, '--addtag', 'one_map.1.2.AbC-_', '--activate', 'n', 'vg1/lv1']],
    [['seal', 'vg1', 'lv1', 'one_map.1.2.AbC-_']],
  ],
  [
    'refresh',
    { op: 'refresh', vg: 'vg1', lv: 'lv1' },
    [['lvchange', ...J, '--refresh', 'vg1/lv1']],
    [['refresh', 'vg1', 'lv1']],
  ],
  [
    'add tag',
    { op: 'tag', vg: 'vg1', lv: 'lv1', action: 'add', tag: 'one_active_node1' },
    [['lvchange', ...J, '--addtag', 'one_active_node1', 'vg1/lv1']],
    [['tag', 'vg1', 'lv1', 'add', 'one_active_node1']],
  ],
  [
    'delete tag',
    { op: 'tag', vg: 'vg1', lv: 'lv1', action: 'del', tag: 'x' },
    [['lvchange', ...J, '--deltag', 'x', 'vg1/lv1']],
    [['tag', 'vg1', 'lv1', 'del', 'x']],
  ],
  [
    'lock start',
    { op: 'lockStart', vg: 'vg1' },
    [['vgchange', ...P, '--lockstart', 'vg1']],
    [['lockstart', 'vg1']],
  ],
  [
    'lock status',
    { op: 'lockStatus', vg: 'vg1' },
    [['vgs', ...J, '--units', 'b', '--nosuffix', '--binary', '--options', 'vg_name,vg_lock_type', 'vg1']],
    [['lockstatus', 'vg1']],
  ],
];

describe('argv builders, both back-ends', () => {
  it.each(table)('%s', (_name, op, lvm, helper) => {
    expect(buildLvmCommands(op, NEW).map((c) => c.argv)).toEqual(lvm);
    expect(buildHelperCommands(op).map((c) => c.argv)).toEqual(helper);
  });

  it('every plain argv carries the one --config string and nothing starting with - comes from a name', () => {
    for (const [, op] of table) {
      for (const { argv } of buildLvmCommands(op, NEW)) {
        const config = argv[argv.indexOf('--config') + 1];
        expect([LVM_CONFIG, LVM_CONFIG_JSON_LOG]).toContain(config);
      }
    }
  });

  it('json flag matches --reportformat', () => {
    for (const [, op] of table)
      for (const c of buildLvmCommands(op, NEW)) expect(c.json).toBe(c.argv.includes('--reportformat'));
  });

  it('older LVM: json instead of json_std, no --setautoactivation', () => {
    const op: Operation = {
      op: 'create',
      vg: 'vg1',
      lv: 'lv1',
      sizeBytes: 512,
      kind: 'linear',
      tags: [],
      activate: true,
    };
    const [c] = buildLvmCommands(op, OLD);
    expect(c?.argv).toContain('json');
    expect(c?.argv).not.toContain('json_std');
    expect(c?.argv).not.toContain('--setautoactivation');
  });

  it('all VGs / PVs', () => {
    expect(buildLvmCommands({ op: 'reportLvs' }, NEW)[0]?.argv.at(-1)).toBe(
      [...LV_FIELDS, ...LV_VG_FIELDS].join(','),
    );
    expect(buildLvmCommands({ op: 'reportVgs' }, NEW)[0]?.argv[0]).toBe('vgs');
    expect(buildLvmCommands({ op: 'reportPvs' }, NEW)[0]?.argv[0]).toBe('pvs');
    expect(buildHelperCommands({ op: 'reportVgs' }).map((c) => c.argv)).toEqual([['report', 'vgs']]);
    expect(buildHelperCommands({ op: 'reportPvs' }).map((c) => c.argv)).toEqual([['report', 'pvs']]);
  });

  it('deactivate deleting one tag and adding another: one lvchange; the helper refuses (UNSUPPORTED)', () => {
    const op: Operation = { op: 'deactivate', vg: 'vg1', lv: 'lv1', delTag: 'one_a', addTag: 'one_b' };
    expect(buildLvmCommands(op, NEW).map((c) => c.argv)).toEqual([
      ['lvchange', ...P, '--deltag', 'one_a', '--addtag', 'one_b', '--activate', 'n', 'vg1/lv1'],
    ]);
    expect(() => buildHelperCommands(op)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });

  it('the helper reports LVs of one VG only', () => {
    expect(() => buildHelperCommands({ op: 'reportLvs' })).toThrow(/one VG only/);
  });

  it('helper wipe and reactivate-boot', () => {
    expect(helperWipeArgv('vg1', 'lv1')).toEqual(['wipe', 'vg1', 'lv1']);
    expect(helperWipeArgv('vg1', 'lv1', { offsetBytes: 0, lengthBytes: 33554432 })).toEqual([
      'wipe',
      'vg1',
      'lv1',
      '0',
      '33554432',
    ]);
    expect(helperReactivateBootArgv()).toEqual(['reactivate-boot']);
  });
});
