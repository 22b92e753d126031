import { describe, expect, it } from 'vitest';
import { decodeLvAttr, LvmError, vgAttrSharing } from '../src/index.js';

describe('decodeLvAttr', () => {
  it.each([
    // raw, type, active, open, thin, pool, snapshot
    ['-wi-a-----', 'linear', true, false, false, false, false],
    ['-wi-ao----', 'linear', true, true, false, false, false],
    ['-wi-------', 'linear', false, false, false, false, false],
    ['-wi-XX----', 'linear', null, null, false, false, false],
    ['twi-a-tz--', 'thin-pool', true, false, true, true, false],
    ['Vwi-a-tz--', 'thin-volume', true, false, true, false, false],
    ['Vwi---tz-k', 'thin-volume', false, false, true, false, false],
    ['swi-a-s---', 'snapshot', true, false, false, false, true],
    ['owi-a-s---', 'origin', true, false, false, false, true],
    ['-wi-s-----', 'linear', true, false, false, false, false],
    ['-wi-h-----', 'linear', false, false, false, false, false],
  ] as const)('%s', (raw, type, active, open, thin, pool, snapshot) => {
    const attr = decodeLvAttr(raw);
    expect(attr.volumeType).toBe(type);
    expect(attr.active).toBe(active);
    expect(attr.open).toBe(open);
    expect(attr.thin).toBe(thin);
    expect(attr.pool).toBe(pool);
    expect(attr.snapshot).toBe(snapshot);
    expect(attr.writeable).toBe(true);
  });

  it('reads the other columns', () => {
    const attr = decodeLvAttr('Vri-s-tzpk');
    expect(attr.writeable).toBe(false);
    expect(attr.suspended).toBe(true);
    expect(attr.zeroNewBlocks).toBe(true);
    expect(attr.health).toBe('p');
    expect(attr.activationSkip).toBe(true);
    expect(attr.target).toBe('t');
  });

  it.each(['', '-wi-a----', '-wi-a------', 42])('refuses %j with PARSE', (raw) => {
    expect(() => decodeLvAttr(raw as string)).toThrow(LvmError);
    try {
      decodeLvAttr(raw as string);
    } catch (e) {
      expect((e as LvmError).code).toBe('PARSE');
    }
  });

  it('an unknown type letter is "unknown", not a crash', () => {
    expect(decodeLvAttr('Zwi-a-----').volumeType).toBe('unknown');
  });
});

describe('vgAttrSharing', () => {
  it.each([
    ['wz--n-', 'local'],
    ['wz--ns', 'shared'],
    ['wz--nc', 'clustered'],
    ['', 'local'],
  ])('%j → %s', (attr, sharing) => expect(vgAttrSharing(attr)).toBe(sharing));
});
