import { LvmError } from './errors.js';

/** LV type from the first `lv_attr` character (lvs(8)). */
export type LvVolumeType =
  | 'linear' // '-': plain (linear or striped)
  | 'origin' // 'o', 'O' (merging)
  | 'snapshot' // 's', 'S' (merging)
  | 'thin-volume' // 'V'
  | 'thin-pool' // 't'
  | 'thin-pool-data' // 'T'
  | 'pool-metadata' // 'e'
  | 'mirror' // 'm', 'M'
  | 'raid' // 'r', 'R'
  | 'image' // 'i', 'I'
  | 'mirror-log' // 'l'
  | 'cache' // 'C'
  | 'vdo-pool' // 'd'
  | 'vdo-pool-data' // 'D'
  | 'pvmove' // 'p'
  | 'virtual' // 'v'
  | 'converting' // 'c'
  | 'unknown';

const VOLUME_TYPES: Record<string, LvVolumeType> = {
  '-': 'linear',
  o: 'origin',
  O: 'origin',
  s: 'snapshot',
  S: 'snapshot',
  V: 'thin-volume',
  t: 'thin-pool',
  T: 'thin-pool-data',
  e: 'pool-metadata',
  m: 'mirror',
  M: 'mirror',
  r: 'raid',
  R: 'raid',
  i: 'image',
  I: 'image',
  l: 'mirror-log',
  C: 'cache',
  d: 'vdo-pool',
  D: 'vdo-pool-data',
  p: 'pvmove',
  v: 'virtual',
  c: 'converting',
};

/** The decoded ten characters of `lv_attr`. `null` where LVM printed `X` (state unknown). */
export interface LvAttr {
  raw: string;
  volumeType: LvVolumeType;
  /** `w`: writeable; `r`/`R`: read-only. */
  writeable: boolean;
  /** State (5th char) is anything but `-`, `h` (historical) and `X`. */
  active: boolean | null;
  suspended: boolean;
  /** 6th char `o`: the device is open (a VM, a mount, `dd` …). */
  open: boolean | null;
  snapshot: boolean;
  /** A thin volume (`V`) or a thin pool (`t`). */
  thin: boolean;
  pool: boolean;
  /** 7th char: target type letter (`t` thin, `s` snapshot …) or `-`. */
  target: string;
  zeroNewBlocks: boolean;
  /** 9th char: `p` partial, `r` refresh needed, `F` failed, `D` out of data space, `M` metadata read-only … */
  health: string;
  /** 10th char `k`: the LV has the activation-skip flag. */
  activationSkip: boolean;
}

/** Decodes an `lv_attr` string; throws `PARSE` unless it is the ten characters LVM prints. */
export function decodeLvAttr(raw: string): LvAttr {
  if (typeof raw !== 'string' || raw.length !== 10)
    throw new LvmError('PARSE', `lv_attr ${JSON.stringify(raw)} is not 10 characters`);
  const c = [...raw] as [string, string, string, string, string, string, string, string, string, string];
  const volumeType = VOLUME_TYPES[c[0]] ?? 'unknown';
  const state = c[4];
  return {
    raw,
    volumeType,
    writeable: c[1] === 'w',
    active: state === 'X' ? null : state !== '-' && state !== 'h',
    suspended: state === 's' || state === 'S' || state === 'M' || state === 'C',
    open: c[5] === 'X' ? null : c[5] === 'o',
    snapshot: volumeType === 'snapshot' || c[6] === 's',
    thin: volumeType === 'thin-volume' || volumeType === 'thin-pool',
    pool: volumeType === 'thin-pool' || volumeType === 'vdo-pool' || c[0] === 'C',
    target: c[6],
    zeroNewBlocks: c[7] === 'z',
    health: c[8],
    activationSkip: c[9] === 'k',
  };
}

/** VG lock kind from the 6th `vg_attr` character: `c` clustered (clvmd), `s` shared (lvmlockd). */
export function vgAttrSharing(vgAttr: string): 'clustered' | 'shared' | 'local' {
  const c = vgAttr[5];
  return c === 'c' ? 'clustered' : c === 's' ? 'shared' : 'local';
}
