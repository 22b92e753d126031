import { describe, expect, it } from 'vitest';
import {
  chunkBytesFor,
  mapFromExtents,
  mapFromTags,
  mappedBytes,
  mappedRanges,
  mapTag,
  parseQemuImgMap,
  WRITTEN_TAG,
} from '../src/alloc-map.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** `qemu-img map` of a 4 GiB image with 20 MiB of data at 0, 1000, 2000, 3000 and 4000 MiB. */
function fiveIslands(): Array<{ start: number; length: number; zero: boolean; data: boolean }> {
  const extents = [];
  let at = 0;
  for (const mib of [0, 1000, 2000, 3000, 4000]) {
    if (mib * MiB > at) extents.push({ start: at, length: mib * MiB - at, zero: true, data: false });
    extents.push({ start: mib * MiB, length: 20 * MiB, zero: false, data: true });
    at = (mib + 20) * MiB;
  }
  extents.push({ start: at, length: 4 * GiB - at, zero: true, data: false });
  return extents;
}

describe('chunk size', () => {
  it('is 4 MiB up to 2 GiB, then doubles so that 512 chunks cover the LV', () => {
    expect(chunkBytesFor(16 * MiB)).toBe(4 * MiB);
    expect(chunkBytesFor(2 * GiB)).toBe(4 * MiB);
    expect(chunkBytesFor(2 * GiB + MiB)).toBe(8 * MiB);
    expect(chunkBytesFor(4 * GiB)).toBe(8 * MiB);
    expect(chunkBytesFor(1024 * GiB)).toBe(2 * GiB);
  });
});

describe('map from qemu-img map', () => {
  it('sets exactly the chunks that hold data (4 GiB, 5 × 20 MiB)', () => {
    const map = mapFromExtents(4 * GiB, parseQemuImgMap(JSON.stringify(fiveIslands())));
    expect(map.chunkBytes).toBe(8 * MiB);
    // 20 MiB from an 8-MiB boundary is 3 chunks each (1000 MiB = 125 chunks: aligned).
    expect(mappedRanges(map)).toEqual([0, 1000, 2000, 3000, 4000].map((mib) => [mib * MiB, 24 * MiB]));
    expect(mappedBytes(map)).toBe(120 * MiB);
  });

  it('sets a chunk only partly covered by zero extents, and anything not covered at all', () => {
    // 16 MiB LV: zeros 0–6 MiB (chunk 0 whole, chunk 1 partly), zeros 8–12 MiB (chunk 2), chunk 3 not described.
    const map = mapFromExtents(16 * MiB, [
      { start: 0, length: 6 * MiB, zero: true },
      { start: 6 * MiB, length: 2 * MiB, zero: false },
      { start: 8 * MiB, length: 4 * MiB, zero: true },
    ]);
    expect(map.mapped).toEqual([false, true, false, true]);
  });

  it('does not count overlapping zero extents twice', () => {
    const map = mapFromExtents(8 * MiB, [
      { start: 0, length: 2 * MiB, zero: true },
      { start: 0, length: 2 * MiB, zero: true },
      { start: MiB, length: MiB, zero: true },
      { start: 4 * MiB, length: 4 * MiB, zero: true },
    ]);
    expect(map.mapped).toEqual([true, false]);
  });

  it('clips extents beyond the LV and treats a short last chunk by its own length', () => {
    const map = mapFromExtents(10 * MiB, [{ start: 0, length: 64 * MiB, zero: true }]);
    expect(map.mapped).toEqual([false, false, false]);
    expect(mappedRanges({ ...map, mapped: [false, false, true] })).toEqual([[8 * MiB, 2 * MiB]]);
  });

  it.each([
    ['not an array', '{"start":0}'],
    ['a missing zero flag', '[{"start":0,"length":1}]'],
    ['a negative start', '[{"start":-1,"length":1,"zero":true}]'],
    ['a fractional length', '[{"start":0,"length":1.5,"zero":true}]'],
    ['a string number', '[{"start":"0","length":1,"zero":true}]'],
    ['not JSON', 'qemu-img: Could not open'],
  ])('refuses %s', (_what, json) => {
    expect(() => parseQemuImgMap(json)).toThrow();
  });
});

describe('the tag', () => {
  const map = mapFromExtents(4 * GiB, fiveIslands());
  const tag = mapTag(map) as string;

  it('round-trips, fits LVM and the helper (one_ prefix, A-Za-z0-9 . _ -, ≤ 128)', () => {
    expect(tag).toMatch(/^one_map\.4096\.8\.[A-Za-z0-9_-]+$/);
    expect(tag.length).toBeLessThanOrEqual(128);
    expect(mapFromTags(['one_active_node1', tag], 4 * GiB)).toEqual({ map });
  });

  it('fits for the largest chunk count at any size', () => {
    for (const size of [4 * MiB, 2 * GiB, 3 * GiB, 1024 * GiB, 1024 * 1024 * GiB]) {
      const full = mapFromExtents(size, []);
      expect(full.mapped.every(Boolean)).toBe(true);
      expect(mapTag(full)?.length ?? 999).toBeLessThanOrEqual(128);
    }
  });

  it('is not made for a size that is not whole MiB', () => {
    expect(mapTag(mapFromExtents(4 * MiB + 512, []))).toBeUndefined();
  });

  it('is ignored once the image may have been written (one_written)', () => {
    const r = mapFromTags([tag, WRITTEN_TAG], 4 * GiB);
    expect(r.map).toBeUndefined();
    expect(r).toMatchObject({ why: expect.stringContaining('written') });
  });

  it('is ignored when made for another size (the LV was resized)', () => {
    expect(mapFromTags([tag], 4 * GiB + 4 * MiB).map).toBeUndefined();
  });

  it.each([
    ['absent', []],
    ['twice', [tag, tag.replace(/.$/, 'A')]],
    ['with a bad chunk size', [tag.replace('.8.', '.4.')]],
    ['truncated', [tag.slice(0, -2)]],
    ['with bits past the last chunk', ['one_map.12.4.-w']],
    ['with characters outside base64url', [`${tag.slice(0, -1)}+`]],
    ['with a zero size', ['one_map.0.4.AA']],
  ])('is ignored when %s', (_what, tags) => {
    expect(mapFromTags(tags, 4 * GiB).map).toBeUndefined();
  });

  it('accepts the short map of a 12 MiB LV with its 3 bits', () => {
    expect(mapFromTags(['one_map.12.4.BQ'], 12 * MiB).map?.mapped).toEqual([true, false, true]);
  });
});
