import type { Vg } from './report.js';

/**
 * How a VG is locked across hosts (design §3):
 * * `lvmlockd` — VG created `--shared` (`vg_lock_type` sanlock/dlm/idm, `vg_attr` 6th char `s`);
 * * `clvmd` — legacy LVM 2.02 clustered VG (`vg_attr` 6th char `c`);
 * * `none` — a plain VG on a shared LUN: nothing in LVM stops two hosts from changing its metadata
 *   at once, so the caller serialises metadata changes (`onMetadataLock`).
 */
export type LockMode = 'lvmlockd' | 'clvmd' | 'none';

export function lockModeOfVg(vg: Pick<Vg, 'lockType' | 'sharing'>): LockMode {
  if (vg.sharing === 'shared' || (vg.lockType !== null && vg.lockType !== 'none' && vg.lockType !== 'clvm'))
    return 'lvmlockd';
  if (vg.sharing === 'clustered' || vg.lockType === 'clvm') return 'clvmd';
  return 'none';
}
