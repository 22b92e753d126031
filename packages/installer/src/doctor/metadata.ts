/**
 * Bytes of VG metadata area one LV of the driver costs, from what was seen: a VG with the default
 * (about 1 MiB) metadata area took 1,800 LVs and refused the 1,801st (design.md §1).
 */
export const METADATA_BYTES_PER_LV = Math.ceil((1024 * 1024) / 1800);

/** About how many LVs a metadata area of `mdaBytes` holds. */
export function lvCapacity(mdaBytes: number): number {
  return Math.floor(mdaBytes / METADATA_BYTES_PER_LV);
}

/** The `--metadatasize` (MiB) for a VG expected to hold `expectedLvs`, with 25 % headroom, at least 1 MiB. */
export function metadataSizeMiB(expectedLvs: number): number {
  return Math.max(1, Math.ceil((expectedLvs * METADATA_BYTES_PER_LV * 1.25) / (1024 * 1024)));
}
