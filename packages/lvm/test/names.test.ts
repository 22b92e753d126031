import { describe, expect, it } from 'vitest';
// The names API through the package's public entry point, as its users import it.
import * as lvm from '../src/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return lvm.LvmError.isInstance(error) ? error.code : `not an lvm.LvmError: ${String(error)}`;
  }
  return 'no error';
}

describe('LV and VG name validation (LVM rules)', () => {
  it.each(['lv-one-7-0', 'lv-oneimg-12', 'a', 'odd+name_1.x-y', '...', 'x'.repeat(127)])(
    'accepts LV name %j',
    (name) => {
      expect(lvm.isLvName(name)).toBe(true);
    },
  );

  it.each([
    ['', 'empty'],
    ['-rf', 'leading dash (would read as an option)'],
    ['--help', 'an option'],
    ['.', 'dot'],
    ['..', 'dot-dot'],
    ['a/b', 'slash'],
    ['../etc', 'path traversal'],
    ['a b', 'space'],
    ['a;rm -rf /', 'shell metacharacters'],
    ['$(reboot)', 'command substitution'],
    ['a`id`', 'backticks'],
    ["a'b", 'quote'],
    ['a\nb', 'newline'],
    ['a\0b', 'NUL'],
    ['é', 'non-ASCII'],
    ['snapshot1', 'reserved prefix snapshot'],
    ['pvmove0', 'reserved prefix pvmove'],
    ['x_tmeta', 'reserved suffix _tmeta'],
    ['my_rimage_0', 'reserved _rimage'],
    ['x'.repeat(128), 'too long'],
  ])('refuses LV name %j (%s) with INVALID_ARGUMENT', (name) => {
    expect(codeOf(() => lvm.assertLvName(name))).toBe('INVALID_ARGUMENT');
  });

  it('refuses non-strings', () => {
    for (const value of [undefined, null, 7, {}, ['lv']])
      expect(codeOf(() => lvm.assertLvName(value))).toBe('INVALID_ARGUMENT');
  });

  it('VG names follow the common rules but may use LV-reserved words', () => {
    expect(lvm.isVgName('vg-one-100')).toBe(true);
    expect(lvm.isVgName('snapshot')).toBe(true);
    expect(lvm.isVgName('-vg')).toBe(false);
    expect(lvm.isVgName('vg/1')).toBe(false);
    expect(codeOf(() => lvm.assertVgName('..'))).toBe('INVALID_ARGUMENT');
  });

  it('the error is one line naming the value', () => {
    try {
      lvm.assertLvName('a;b');
    } catch (error) {
      expect((error as Error).message).toBe('LV name "a;b" has characters other than A-Z a-z 0-9 + _ . -');
    }
  });
});

describe('driver LV names', () => {
  it.each([
    [7, 0, 'lv-one-7-0'],
    ['12', '3', 'lv-one-12-3'],
    [0, 0, 'lv-one-0-0'],
    [Number.MAX_SAFE_INTEGER, 1, `lv-one-${Number.MAX_SAFE_INTEGER}-1`],
  ])('vmDiskLvName(%j, %j) = %s and parses back', (vm, disk, name) => {
    expect(lvm.vmDiskLvName(vm, disk)).toBe(name);
    expect(lvm.parseLvName(name)).toEqual({ kind: 'vm-disk', vmId: Number(vm), diskId: Number(disk) });
  });

  it.each([-1, 1.5, '07', '7 ', '1e3', '', 'x', Number.NaN, 2 ** 53, '9007199254740993', ' 1', '-0'])(
    'refuses id %j',
    (id) => {
      expect(codeOf(() => lvm.vmDiskLvName(id as number, 0))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => lvm.imageLvName(id as number))).toBe('INVALID_ARGUMENT');
    },
  );

  it('image names', () => {
    expect(lvm.imageLvName(42)).toBe('lv-oneimg-42');
    expect(lvm.parseLvName('lv-oneimg-42')).toEqual({ kind: 'image', imageId: 42 });
  });

  it.each(['lv-one-7', 'lv-one-07-0', 'lv-oneimg-', 'lv-one-7-0-1', 'lvol0', 'lv-oneimg-1a'])(
    '%j is other',
    (name) => {
      expect(lvm.parseLvName(name)).toEqual({ kind: 'other', name });
    },
  );
});

describe('sources and device names', () => {
  it('formats and parses <vg>/<lv>', () => {
    expect(lvm.formatSource({ vg: 'vg-one-100', lv: 'lv-oneimg-3' })).toBe('vg-one-100/lv-oneimg-3');
    expect(lvm.parseSource('vg-one-100/lv-oneimg-3')).toEqual({ vg: 'vg-one-100', lv: 'lv-oneimg-3' });
    expect(lvm.parseSource('/dev/vg-one-100/lv-oneimg-3')).toEqual({ vg: 'vg-one-100', lv: 'lv-oneimg-3' });
  });

  it.each([
    'vg',
    'vg/lv/x',
    '/vg/lv',
    'vg/',
    '/lv',
    '../../etc/passwd',
    'vg/-lv',
    '-vg/lv',
    'vg/..',
    'vg/lv;id',
  ])('refuses source %j', (source) => {
    expect(codeOf(() => lvm.parseSource(source))).toBe('INVALID_ARGUMENT');
  });

  it.each([
    ['vg-one-100', 'lv-one-7-0', 'vg--one--100-lv--one--7--0'],
    ['vg', 'lv', 'vg-lv'],
    ['a-', 'b', 'a---b'],
    ['vg', 'a--b', 'vg-a----b'],
    ['v_g.1', 'l+v', 'v_g.1-l+v'],
  ])('dm name of %s/%s is %s and parses back', (vg, lv, dm) => {
    expect(lvm.dmName({ vg, lv })).toBe(dm);
    expect(lvm.parseDmName(dm)).toEqual({ vg, lv });
    expect(lvm.parseDmName(`/dev/mapper/${dm}`)).toEqual({ vg, lv });
  });

  it('paths', () => {
    const ref = { vg: 'vg-one-100', lv: 'lv-one-7-0' };
    expect(lvm.devicePath(ref)).toBe('/dev/vg-one-100/lv-one-7-0');
    expect(lvm.dmPath(ref)).toBe('/dev/mapper/vg--one--100-lv--one--7--0');
  });

  it.each(['vg', 'vg--one--100-lv--one--7--0-real', 'vg-pool-tpool', '-vg-lv', 'vg-', 'control', 'a-b/c'])(
    'parseDmName refuses %j (not the device of one LV)',
    (name) => {
      expect(codeOf(() => lvm.parseDmName(name))).toBe('INVALID_ARGUMENT');
    },
  );

  it('refuses a dm name longer than device-mapper allows', () => {
    expect(codeOf(() => lvm.dmName({ vg: 'v-'.repeat(30), lv: 'l-'.repeat(30) }))).toBe('INVALID_ARGUMENT');
  });
});

describe('tags and sizes', () => {
  it('active tags', () => {
    expect(lvm.activeTag('node1')).toBe('one_active_node1');
    expect(lvm.parseActiveTag('one_active_node1')).toBe('node1');
    expect(lvm.parseActiveTag('one_ds_100')).toBeNull();
    for (const bad of ['', '-x', 'a b', 'a;b', 'x'.repeat(64), 'node1/..'])
      expect(codeOf(() => lvm.activeTag(bad))).toBe('INVALID_ARGUMENT');
  });

  it.each(['one_active_node1', 'a/b=c:d!e#f&g+h.i-j', 'x'.repeat(1024)])('accepts tag %j', (tag) => {
    expect(() => lvm.assertTag(tag)).not.toThrow();
  });

  it.each(['', '-tag', 'a,b', 'a b', 'a;b', 'a$b', 'x'.repeat(1025), 'é'])('refuses tag %j', (tag) => {
    expect(codeOf(() => lvm.assertTag(tag))).toBe('INVALID_ARGUMENT');
  });

  it.each([512, 2 ** 30, 2 ** 52])('accepts size %d', (n) =>
    expect(() => lvm.assertSizeBytes(n)).not.toThrow(),
  );

  it.each([0, -512, 511, 1000, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 512, '1024', null])(
    'refuses size %j',
    (n) => {
      expect(codeOf(() => lvm.assertSizeBytes(n))).toBe('INVALID_ARGUMENT');
    },
  );
});
