import type { DiskSize } from '@one-gfs2clvm/driver-runtime';
import type { Lv } from '@one-gfs2clvm/lvm';

const MiB = 2 ** 20;
/** oned's object ids are C `int`s. */
const MAX_ONE_ID = 2 ** 31 - 1;
/** `lv-one-<vm>-<disk>` and its snapshots `lv-one-<vm>-<disk>-snap-<snap>` (thin.ts). */
const DISK_LV = /^lv-one-([0-9]+)-([0-9]+)(?:-snap-([0-9]+))?$/;

/** A decimal id as oned writes it (no sign, no leading zero, within `int`), else `null`. */
function oneId(digits: string | undefined): number | null {
  if (digits === undefined) return null;
  const n = Number(digits);
  return String(n) === digits && n <= MAX_ONE_ID ? n : null;
}

/**
 * What the LV takes in the VG, in MB (rounded up): a thin LV what its pool has allocated for it
 * (data% of its virtual size, what oned's DISK_SIZE means: space used), any other LV its size.
 * `null` for a thin LV whose pool is not active where the report was taken (LVM cannot tell).
 */
export function allocatedMb(lv: Lv): number | null {
  if (lv.pool === null) return Math.ceil(lv.sizeBytes / MiB);
  if (lv.dataPercent === null) return null;
  return Math.ceil((lv.sizeBytes * lv.dataPercent) / 100 / MiB);
}

/** One VM disk LV (or snapshot) recognised by name, else `null` (pools, images, strays). */
export function parseDiskLvName(
  name: string,
): { vmId: number; diskId: number; snapId: number | null } | null {
  const match = DISK_LV.exec(name);
  if (!match) return null;
  const vmId = oneId(match[1]);
  const diskId = oneId(match[2]);
  const snapId = match[3] === undefined ? null : oneId(match[3]);
  if (vmId === null || diskId === null || (match[3] !== undefined && snapId === null)) return null;
  return { vmId, diskId, snapId };
}

/**
 * Per VM, the sizes of its disks and snapshots from one LV report of the system datastore's VG.
 * Persistent images (`lv-oneimg-<id>`) are not here: their names carry no VM, and oned accounts
 * for them as images. Disks whose size LVM cannot tell (see `allocatedMb`) are left out.
 */
export function vmDiskSizes(lvs: readonly Lv[]): Map<number, DiskSize[]> {
  const disks = new Map<string, DiskSize & { vmId: number }>();
  const snaps: { vmId: number; diskId: number; snapId: number; sizeMb: number }[] = [];
  for (const lv of lvs) {
    const id = parseDiskLvName(lv.name);
    const sizeMb = id && allocatedMb(lv);
    if (!id || sizeMb === null) continue;
    if (id.snapId === null) disks.set(`${id.vmId}/${id.diskId}`, { ...id, sizeMb, snapshots: [] });
    else snaps.push({ vmId: id.vmId, diskId: id.diskId, snapId: id.snapId, sizeMb });
  }
  for (const snap of snaps)
    disks.get(`${snap.vmId}/${snap.diskId}`)?.snapshots.push({ snapId: snap.snapId, sizeMb: snap.sizeMb });
  const byVm = new Map<number, DiskSize[]>();
  const ordered = [...disks.values()].sort((a, b) => a.vmId - b.vmId || a.diskId - b.diskId);
  for (const { vmId, diskId, sizeMb, snapshots } of ordered) {
    snapshots.sort((a, b) => a.snapId - b.snapId);
    byVm.set(vmId, [...(byVm.get(vmId) ?? []), { diskId, sizeMb, snapshots }]);
  }
  return byVm;
}

const ACTIVE_TAG = /^one_active_([A-Za-z0-9][A-Za-z0-9-]{0,62})$/;

/**
 * The hosts whose own report can tell what this one could not: thin VM disks report their
 * allocation only where their pool is active, the host their `one_active_<host>` tag names. At
 * most one more report per such host, never one per VM.
 */
export function hostsToAsk(lvs: readonly Lv[], asked: string): string[] {
  const hosts = new Set<string>();
  for (const lv of lvs) {
    if (lv.pool === null || lv.dataPercent !== null || !parseDiskLvName(lv.name)) continue;
    for (const tag of lv.tags) {
      const host = ACTIVE_TAG.exec(tag)?.[1];
      if (host) hosts.add(host);
    }
  }
  hosts.delete(asked.split('.')[0] as string);
  return [...hosts].sort();
}

/** `lvs` with the LVs whose allocation `other` (another host's report) knows taken from there. */
export function withAllocation(lvs: readonly Lv[], other: readonly Lv[]): Lv[] {
  const known = new Map(other.filter((lv) => lv.dataPercent !== null).map((lv) => [lv.name, lv]));
  return lvs.map((lv) => (lv.pool !== null && lv.dataPercent === null ? (known.get(lv.name) ?? lv) : lv));
}
