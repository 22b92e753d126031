// The pure parts of what the demo reads from the hosts: lvs + lvmlockctl --info → locks per host,
// and the table it prints. Samples recorded on the testbed (LVM 2.03.16, lvmlockd + sanlock).
import { describe, expect, it } from 'vitest';
import { createNarrator, formatLvs, mergeHostLvs } from '../src/index.js';

const LVS_NODE1 = [
  '  lv-gfs2|BmyAsY-WlpU-tfiR-2NQd-9EJT-WuZj-G6KfJL|512.00|active locally|',
  '  lv-one-800-0|SZO8wN-QSZN-NI1T-ykgu-Y3pE-6cJ3-Izeveh|32.00|active locally|one_active_node1',
  '  lv-one-800-1|czvNOR-hk6F-IEzU-paPG-cyp1-5hfq-9fjhLZ|16.00||one_active_node2,x',
  '  lv-oneimg-800|95VdH6-jZ6i-FF2u-O3p6-cOpf-Amfu-ilo1eQ|16.00||',
  '',
].join('\n');
const INFO_NODE1 = [
  'VG vg-one-100 lock_type=sanlock lJDf05-AEgS-oAD9-4FhC-h6Fc-G8vM-NO3ZEV',
  'LS sanlock lvm_vg-one-100',
  'LK VG un ver 159',
  'LK LV sh BmyAsY-WlpU-tfiR-2NQd-9EJT-WuZj-G6KfJL',
  'LK LV ex SZO8wN-QSZN-NI1T-ykgu-Y3pE-6cJ3-Izeveh',
  'LK LV un 95VdH6-jZ6i-FF2u-O3p6-cOpf-Amfu-ilo1eQ',
].join('\n');
const LVS_NODE2 = LVS_NODE1.replace(
  'lv-one-800-1|czvNOR-hk6F-IEzU-paPG-cyp1-5hfq-9fjhLZ|16.00||',
  'lv-one-800-1|czvNOR-hk6F-IEzU-paPG-cyp1-5hfq-9fjhLZ|16.00|active locally|',
).replace(
  'lv-one-800-0|SZO8wN-QSZN-NI1T-ykgu-Y3pE-6cJ3-Izeveh|32.00|active locally|',
  'lv-one-800-0|SZO8wN-QSZN-NI1T-ykgu-Y3pE-6cJ3-Izeveh|32.00||',
);
const INFO_NODE2 = 'LK LV sh czvNOR-hk6F-IEzU-paPG-cyp1-5hfq-9fjhLZ\n';

describe('mergeHostLvs', () => {
  it('takes the lock mode from lvmlockd, not from lvs, and keeps only the matching LVs', () => {
    const views = mergeHostLvs(
      [
        { host: 'node1', lvs: LVS_NODE1, info: INFO_NODE1 },
        { host: 'node2', lvs: LVS_NODE2, info: INFO_NODE2 },
      ],
      (name) => name.includes('800'),
    );
    expect(views).toEqual([
      { name: 'lv-one-800-0', sizeMiB: 32, tags: ['one_active_node1'], locks: { node1: 'ex', node2: '-' } },
      {
        name: 'lv-one-800-1',
        sizeMiB: 16,
        tags: ['one_active_node2', 'x'],
        locks: { node1: '-', node2: 'sh' },
      },
      { name: 'lv-oneimg-800', sizeMiB: 16, tags: [], locks: { node1: '-', node2: '-' } },
    ]);
  });

  it('says "on" for an LV active without an lvmlockd lock (a VG of lock type none)', () => {
    const views = mergeHostLvs(
      [{ host: 'node1', lvs: 'lv-a|U1|8.00|active locally|\n', info: '' }],
      () => true,
    );
    expect(views[0]?.locks).toEqual({ node1: 'on' });
  });
});

describe('formatLvs', () => {
  it('prints one aligned row per LV with the lock per host', () => {
    const text = formatLvs(
      [{ name: 'lv-one-800-0', sizeMiB: 32, tags: ['one_active_node1'], locks: { node1: 'ex' } }],
      ['node1', 'node2'],
    );
    expect(text.split('\n')).toEqual([
      'LV            size    lock@node1  lock@node2  tags',
      'lv-one-800-0  32 MiB  ex          -           one_active_node1',
    ]);
    expect(formatLvs([], ['node1'])).toBe('(no LV)');
  });
});

describe('createNarrator', () => {
  it('prefixes the clock and indents details, dropping blank lines', () => {
    const out: string[] = [];
    const n = createNarrator((line) => out.push(line), performance.now());
    n.say('hello');
    n.detail('a\n\n  b\n', '│ ');
    expect(out[0]).toMatch(/^\[ {3}0\.0 s\] hello$/);
    expect(out.slice(1)).toEqual(['           │ a', '           │   b']);
  });
});
