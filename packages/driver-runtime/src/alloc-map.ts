/**
 * Allocation maps of image LVs (design §7, issue #5 benchmark 3).
 *
 * A clone must read the whole image LV to find its data: an LV has no allocation map of its own.
 * The image driver knows the map when it imports a file (`qemu-img map` of the qcow2 or sparse
 * source) and records it on the new image LV as ONE tag, written by the same `lvchange` that
 * deactivates the LV at the end of the import:
 *
 *     one_map.<LV size in MiB>.<chunk size in MiB>.<bitmap, base64url>
 *
 * Bit `i` (LSB first in each byte) set: chunk `i` may hold data and is copied. Clear: the chunk
 * reads as zeros (the import wrote zeros there: `qemu-img convert -n` writes the zero blocks). A
 * clone onto a target that reads as zeros (a new thin LV, or one just wiped whole) then copies only
 * the set chunks. Any doubt sets a bit: a chunk not covered by the map, an extent that is not known
 * to read as zeros, the tail of the LV beyond the image when it was not wiped.
 *
 * A stale map silently loses data in the clone, so the map is trusted only while nothing can have
 * written the image since: every driver path that may write an image LV afterwards (a persistent
 * disk's `ln`, `mvds` copying a disk back into its image) adds the tag `one_written` in the same
 * `lvchange` that activates it, and a map beside that tag is ignored. The map also carries the LV
 * size it was made for (a resize invalidates it). An operator writing an image LV by hand must
 * remove the `one_map.` tag (or add `one_written`) first.
 *
 * The bitmap is at most 512 chunks (chunks of 4 MiB up to 2 GiB, powers of two), so the tag fits
 * LVM's 128-character limit for any LV up to 1 PiB.
 */

const MiB = 2 ** 20;
const PREFIX = 'one_map.';
const MIN_CHUNK = 4 * MiB;
const MAX_CHUNKS = 512;
const MAX_TAG = 128;

/** Added (never removed) by every driver path that may write an image LV after its import. */
export const WRITTEN_TAG = 'one_written';

export interface AllocationMap {
  sizeBytes: number;
  chunkBytes: number;
  /** One entry per chunk: `true` when it may hold data. */
  mapped: boolean[];
}

/** One extent of `qemu-img map --output=json`. */
export interface MapExtent {
  start: number;
  length: number;
  /** Reads as zeros. */
  zero: boolean;
}

/** The smallest chunk (power of two, ≥ 4 MiB) that covers `sizeBytes` in at most 512 chunks. */
export function chunkBytesFor(sizeBytes: number): number {
  let chunk = MIN_CHUNK;
  while (Math.ceil(sizeBytes / chunk) > MAX_CHUNKS) chunk *= 2;
  return chunk;
}

/**
 * The map of an LV of `sizeBytes` whose content is described by `extents`: a chunk is clear only
 * when every byte of it is covered by extents that read as zeros.
 */
export function mapFromExtents(sizeBytes: number, extents: readonly MapExtent[]): AllocationMap {
  const chunkBytes = chunkBytesFor(sizeBytes);
  const count = Math.ceil(sizeBytes / chunkBytes);
  // Bytes of each chunk known to read as zeros (over the union of the zero extents, so that
  // overlapping extents cannot count a byte twice); a chunk is clear when that is all of it.
  const zeroBytes = new Array<number>(count).fill(0);
  for (const [start, end] of zeroUnion(extents, sizeBytes)) {
    for (let at = start; at < end; ) {
      const chunk = Math.floor(at / chunkBytes);
      const chunkEnd = Math.min((chunk + 1) * chunkBytes, end);
      zeroBytes[chunk] = (zeroBytes[chunk] as number) + (chunkEnd - at);
      at = chunkEnd;
    }
  }
  const mapped = zeroBytes.map((zero, i) => zero < Math.min(chunkBytes, sizeBytes - i * chunkBytes));
  return { sizeBytes, chunkBytes, mapped };
}

/** The zero extents as sorted, disjoint `[start, end)` intervals within `[0, sizeBytes)`. */
function zeroUnion(extents: readonly MapExtent[], sizeBytes: number): Array<[number, number]> {
  const spans = extents
    .filter((e) => e.zero && e.length > 0)
    .map((e): [number, number] => [Math.max(e.start, 0), Math.min(e.start + e.length, sizeBytes)])
    .filter(([start, end]) => start < end)
    .sort((a, b) => a[0] - b[0]);
  const union: Array<[number, number]> = [];
  for (const [start, end] of spans) {
    const last = union[union.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else union.push([start, end]);
  }
  return union;
}

/**
 * Parses `qemu-img map --output=json` (an array of `{start, length, zero, data, …}`). Throws on
 * anything else.
 */
export function parseQemuImgMap(json: string): MapExtent[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value)) throw new Error('qemu-img map: not a JSON array');
  return value.map((item: unknown) => {
    const { start, length, zero } = (item ?? {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || typeof zero !== 'boolean')
      throw new Error(`qemu-img map: unexpected extent ${JSON.stringify(item).slice(0, 80)}`);
    if ((start as number) < 0 || (length as number) < 0) throw new Error('qemu-img map: negative extent');
    return { start: start as number, length: length as number, zero };
  });
}

/** The map as an LV tag, or `undefined` when it cannot be one (size not whole MiB, too long). */
export function mapTag(map: AllocationMap): string | undefined {
  if (map.sizeBytes <= 0 || map.sizeBytes % MiB !== 0) return undefined;
  const bits = Buffer.alloc(Math.ceil(map.mapped.length / 8));
  map.mapped.forEach((set, i) => {
    if (set) bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
  });
  const tag = `${PREFIX}${map.sizeBytes / MiB}.${map.chunkBytes / MiB}.${bits.toString('base64url')}`;
  return tag.length <= MAX_TAG ? tag : undefined;
}

/** Why an LV's tags give no usable map, or the map. */
export type MapLookup = { map: AllocationMap } | { map?: undefined; why: string };

/**
 * The allocation map an LV of `sizeBytes` carries in `tags`, when it may be trusted: exactly one
 * well-formed `one_map.` tag made for this size, and no `one_written` tag.
 */
export function mapFromTags(tags: readonly string[], sizeBytes: number): MapLookup {
  const maps = tags.filter((tag) => tag.startsWith(PREFIX));
  if (maps.length === 0) return { why: 'no allocation map' };
  if (tags.includes(WRITTEN_TAG)) return { why: `${WRITTEN_TAG}: written since the map was made` };
  if (maps.length > 1) return { why: 'more than one allocation map' };
  const match = /^one_map\.([1-9][0-9]{0,9})\.([1-9][0-9]{0,5})\.([A-Za-z0-9_-]+)$/.exec(maps[0] as string);
  if (!match) return { why: 'malformed allocation map' };
  const size = Number(match[1]) * MiB;
  const chunkBytes = Number(match[2]) * MiB;
  if (size !== sizeBytes) return { why: `map made for ${match[1]} MiB, the LV has ${sizeBytes / MiB} MiB` };
  if (chunkBytes !== chunkBytesFor(size)) return { why: 'allocation map with an unexpected chunk size' };
  const count = Math.ceil(size / chunkBytes);
  const bits = Buffer.from(match[3] as string, 'base64url');
  if (bits.length !== Math.ceil(count / 8) || bits.toString('base64url') !== match[3])
    return { why: 'allocation map of the wrong length' };
  const mapped = Array.from({ length: count }, (_, i) => ((bits[i >> 3] as number) & (1 << (i & 7))) !== 0);
  // Bits past the last chunk must be clear (a map for another layout otherwise).
  for (let i = count; i < bits.length * 8; i++)
    if (((bits[i >> 3] as number) & (1 << (i & 7))) !== 0)
      return { why: 'allocation map of the wrong length' };
  return { map: { sizeBytes: size, chunkBytes, mapped } };
}

/** The byte ranges `[offset, length]` of the set chunks, neighbours merged, clipped to the LV. */
export function mappedRanges(map: AllocationMap): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  map.mapped.forEach((set, i) => {
    if (!set) return;
    const offset = i * map.chunkBytes;
    const length = Math.min(map.chunkBytes, map.sizeBytes - offset);
    const last = ranges[ranges.length - 1];
    if (last && last[0] + last[1] === offset) last[1] += length;
    else ranges.push([offset, length]);
  });
  return ranges;
}

/** Bytes the set chunks cover. */
export function mappedBytes(map: AllocationMap): number {
  return mappedRanges(map).reduce((sum, [, length]) => sum + length, 0);
}
