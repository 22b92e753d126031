import { invalidArgument } from './errors.js';

/**
 * How long one data command may run: 6 hours (a wipe, a copy, an import or upload of a large
 * disk). The one name of that limit: `Lvm.wipe` uses it, and so do the drivers' copies.
 */
export const DATA_TIMEOUT_MS = 6 * 3600_000;

/** Bytes `offsetBytes` up to (not including) `offsetBytes + lengthBytes` of an LV. */
export interface WipeRange {
  offsetBytes: number;
  lengthBytes: number;
}

/** How `Lvm.wipe` zeroed the LV. */
export interface WipeResult {
  /**
   * `helper`: the host helper's `wipe` (its own fall-back to `dd` included); `blkdiscard`:
   * `blkdiscard --zeroout`; `dd`: `dd` from /dev/zero after blkdiscard failed (`blkdiscardError`
   * says why); `nothing`: an empty range.
   */
  by: 'helper' | 'blkdiscard' | 'dd' | 'nothing';
  /** With `dd`: blkdiscard's stderr, trimmed. */
  blkdiscardError?: string;
}

const SECTOR = 512;
/** The host helper's limit for any byte count (1 PiB). */
export const MAX_WIPE_BYTES = 2 ** 50;

/**
 * Refuses a range no back-end can wipe, with one line naming the bad value: offset or length not a
 * whole number of bytes from 0 to 1 PiB (the helper's limit), not a multiple of 512 (direct I/O and
 * the helper need sectors), or the range ending beyond 1 PiB; with `lvSizeBytes`, ending beyond the LV. A length of 0 is valid (nothing
 * to do).
 */
export function assertWipeRange(vg: string, lv: string, range?: WipeRange, lvSizeBytes?: number): void {
  if (range === undefined) return;
  const what = `wipe ${vg}/${lv}`;
  for (const [name, value] of [
    ['offset', range.offsetBytes],
    ['length', range.lengthBytes],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_WIPE_BYTES)
      throw invalidArgument(
        `${what}: ${name} ${String(value)} is not a whole number of bytes from 0 to 1 PiB`,
      );
    if (value % SECTOR !== 0)
      throw invalidArgument(`${what}: ${name} ${value} is not a multiple of ${SECTOR} bytes`);
  }
  const end = range.offsetBytes + range.lengthBytes;
  if (end > MAX_WIPE_BYTES) throw invalidArgument(`${what}: range ends at ${end} bytes, beyond 1 PiB`);
  if (lvSizeBytes !== undefined && end > lvSizeBytes)
    throw invalidArgument(`${what}: range ends at ${end} bytes, beyond the LV (${lvSizeBytes} bytes)`);
}
