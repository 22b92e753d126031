import { describe, expect, it } from 'vitest';
import { findGfs2Sysfs, Gfs2Error, parseFindmnt, parseGfs2Sysfs } from '../src/index.js';

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
