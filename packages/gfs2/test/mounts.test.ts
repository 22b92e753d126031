import { describe, expect, it } from 'vitest';
import { Gfs2Error } from '../src/errors.js';
import {
  findGfs2Sysfs,
  findMountHolding,
  parseFindmnt,
  parseFindmntTable,
  parseGfs2Sysfs,
} from '../src/mounts.js';

describe('parseFindmnt', () => {
  it('reads findmnt -J output (util-linux 2.38, recorded on the development machine)', () => {
    const json = `{
   "filesystems": [
      {
         "target": "/",
         "source": "/dev/vda",
         "fstype": "ext4",
         "options": "rw,relatime,discard,resv_strict,resuid=65534,resgid=65534",
         "maj:min": "254:0"
      }
   ]
}
`;
    expect(parseFindmnt(json)).toEqual({
      target: '/',
      source: '/dev/vda',
      fstype: 'ext4',
      options: ['rw', 'relatime', 'discard', 'resv_strict', 'resuid=65534', 'resgid=65534'],
      majMin: '254:0',
    });
  });

  it.each(['', 'findmnt: oops', '{}', '{"filesystems":[]}', '{"filesystems":[null]}', 'null'])(
    'refuses %j with one line',
    (json) => {
      try {
        parseFindmnt(json);
        expect.unreachable();
      } catch (error) {
        expect(Gfs2Error.isInstance(error)).toBe(true);
        expect((error as Error).message).toMatch(/^findmnt printed no/);
      }
    },
  );
});

describe('parseFindmntTable / findMountHolding', () => {
  // The shape of `findmnt -J -l` on a testbed host (trimmed): an overlay root, GFS2 on the datastores.
  const table = parseFindmntTable(
    JSON.stringify({
      filesystems: [
        { target: '/', source: 'overlay', fstype: 'overlay', options: 'rw', 'maj:min': '0:30' },
        {
          target: '/var/lib/one/datastores',
          source: '/dev/mapper/vg--one--100-lv--gfs2',
          fstype: 'gfs2',
          options: 'rw,noatime,rgrplvb',
          'maj:min': '253:1',
        },
        {
          target: '/var/lib/one/datastores/x',
          source: 'tmpfs',
          fstype: 'tmpfs',
          options: 'rw',
          'maj:min': '0:40',
        },
        {
          target: '/var/lib/one/datastores-old',
          source: 'tmpfs',
          fstype: 'tmpfs',
          options: 'rw',
          'maj:min': '0:41',
        },
      ],
    }),
  );

  it('picks the deepest mount above a path, by whole components', () => {
    expect(findMountHolding(table, '/var/lib/one/datastores/100/7')?.majMin).toBe('253:1');
    expect(findMountHolding(table, '/var/lib/one/datastores')?.majMin).toBe('253:1');
    expect(findMountHolding(table, '/var/lib/one/datastores/x/1')?.fstype).toBe('tmpfs');
    expect(findMountHolding(table, '/var/lib/one/datastores-older')?.fstype).toBe('overlay');
  });

  it('takes the last of several mounts on one target (the one on top)', () => {
    const stacked = [...table, { ...table[1], majMin: '253:9' } as (typeof table)[number]];
    expect(findMountHolding(stacked, '/var/lib/one/datastores/1')?.majMin).toBe('253:9');
  });

  it('finds nothing in an empty table', () => {
    expect(findMountHolding([], '/x')).toBeUndefined();
  });
});

describe('parseGfs2Sysfs', () => {
  // The shape of `grep -r -s -H --include=id --include=withdraw -e '' /sys/fs/gfs2`: lock
  // tables contain `:` (cluster:fs), and lock_module/withdraw is not the withdraw state.
  const listing = [
    '/sys/fs/gfs2/onecluster:datastores/id:253:4',
    '/sys/fs/gfs2/onecluster:datastores/withdraw:0',
    '/sys/fs/gfs2/onecluster:datastores/lock_module/withdraw:1',
    '/sys/fs/gfs2/dm-7/id:253:7',
    '/sys/fs/gfs2/dm-7/withdraw:1',
    'garbage line',
    '',
  ].join('\n');

  it('gives one entry per lock table with its device and withdraw flag', () => {
    expect(parseGfs2Sysfs(listing)).toEqual([
      { lockTable: 'onecluster:datastores', id: '253:4', withdrawn: false },
      { lockTable: 'dm-7', id: '253:7', withdrawn: true },
    ]);
  });

  it('finds the entry of a mount by its device number', () => {
    const entries = parseGfs2Sysfs(listing);
    expect(findGfs2Sysfs(entries, '253:7')?.withdrawn).toBe(true);
    expect(findGfs2Sysfs(entries, '253:4')?.lockTable).toBe('onecluster:datastores');
    expect(findGfs2Sysfs(entries, '8:1')).toBeUndefined();
  });

  it('is empty when the gfs2 module is not loaded', () => {
    expect(parseGfs2Sysfs('')).toEqual([]);
  });
});
