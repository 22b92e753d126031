import { type ActionContext, type Host, hostTag, releaseFromHost, wipe } from '@one-gfs2clvm/driver-runtime';
import type { Lv, LvRef } from '@one-gfs2clvm/lvm';

/**
 * Thin provisioning (design §3): one thin pool per VM in the system datastore's VG,
 * `lv-one-<vm>-pool`, holding the VM's thin disks `lv-one-<vm>-<disk>` and their snapshots
 * `lv-one-<vm>-<disk>-snap-<id>`. A pool and its thin LVs can be active on one host only (thin
 * targets cannot be shared): the pool's activation moves with the VM (cold migration only).
 *
 * Sizing: the pool is kept at least the sum of the virtual sizes of its thin LVs, so it can never
 * run out of space (no dmeventd auto-extension on a shared VG); a deleted snapshot leaves room the
 * next one reuses, so create/delete cycles do not grow the pool (OpenNebula issue #7400).
 */

const MiB = 2 ** 20;

export function poolName(vmId: number): string {
  return `lv-one-${vmId}-pool`;
}

export function snapshotLvName(diskLv: string, snapId: number): string {
  return `${diskLv}-snap-${snapId}`;
}

/** The temporary name of a revert (a thin snapshot of the snapshot, renamed over the disk). */
export function revertLvName(diskLv: string): string {
  return `${diskLv}-revert`;
}

/** The thin LV that overwrites a pool's data with zeros before the pool goes (ZERO_ON_DELETE). */
export function poolWipeLvName(vmId: number): string {
  return `lv-one-${vmId}-poolwipe`;
}

export const isThin = (lv: Lv): boolean => lv.pool !== null;

/** The thin LVs of `pool` (disks, snapshots, leftovers) as `host` sees the VG. */
export async function poolMembers(host: Host, vg: string, pool: string): Promise<Lv[]> {
  return (await host.lvm.listLvs(vg)).filter((lv) => lv.pool === pool);
}

/**
 * The metadata LV a pool of `dataBytes` needs: LVM's own estimate for a new pool (lvmthin(7);
 * `thin_pool_metadata_size` in lvm2's thin_manip.c: 64 bytes per data chunk, at least 2 MiB) taken
 * at the smallest chunk LVM uses, 64 KiB, so data / 1024. A pool's chunk size is fixed when it is
 * created: LVM picks 64 KiB for any first disk up to 128 GiB, so this is then exactly what it
 * would choose; for a pool made larger (chunk 128 KiB or more) it is more than needed, by the chunk
 * ratio, at a cost of 0.1 % of the data (plus LVM's spare copy). Why 64 bytes per chunk is enough
 * with snapshots too: the pool is kept at least the sum of the virtual sizes of all its thin LVs,
 * snapshots included, so even with nothing shared there are no more mappings than data chunks;
 * and 64 bytes is about twice what a mapping costs in the kernel's B-tree (`thin_metadata_size`:
 * leaves half full, 126 entries per 4 KiB node). Without it, a pool grown from its first 1 GiB
 * disk to hundreds of GiB keeps LVM's 4 MiB of metadata, runs out and goes read-only.
 */
export function poolMetadataBytes(dataBytes: number): number {
  const sector = 512;
  return Math.max(2 * MiB, Math.ceil(dataBytes / 1024 / sector) * sector);
}

/**
 * Grows the pool so that every thin LV in it, plus `extraBytes`, could be fully provisioned, and its
 * metadata LV with it (`poolMetadataBytes`, in the same `lvextend`). A pool whose metadata is short
 * for its present size (grown before the metadata followed) gets its metadata grown here too.
 * `known`: the pool as just read (saves a report command).
 */
export async function ensurePoolRoom(
  ctx: ActionContext,
  host: Host,
  vg: string,
  pool: string,
  extraBytes: number,
  known?: Lv,
): Promise<void> {
  const current = known ?? (await host.lvm.getLv(vg, pool));
  const members = await poolMembers(host, vg, pool);
  const needed = members.reduce((sum, lv) => sum + lv.sizeBytes, 0) + extraBytes;
  const dataBytes = Math.max(needed, current.sizeBytes);
  const metadataBytes = poolMetadataBytes(dataBytes);
  const metadataShort = current.metadataSizeBytes !== null && current.metadataSizeBytes < metadataBytes;
  if (needed <= current.sizeBytes && !metadataShort) return;
  const grown = await host.lvm.extendLv(vg, pool, dataBytes, { metadataSizeBytes: metadataBytes });
  const metadata = (lv: Lv) => (lv.metadataSizeBytes === null ? '?' : lv.metadataSizeBytes / MiB);
  ctx.log.info(
    `${vg}/${pool}: ${current.sizeBytes / MiB} MiB to ${grown.sizeBytes / MiB} MiB, metadata ${metadata(current)} MiB to ${metadata(grown)} MiB on ${host.name}`,
  );
}

/**
 * A new thin disk `target` of `sizeBytes` in the VM's pool (made when missing), active on `host`
 * and tagged for reboot re-activation. Fails with `LOCKED_BY_OTHER_HOST` while another host has the
 * pool active. Returns the LV and whether the pool was created by this call (for rollback).
 */
export async function createThinDisk(
  ctx: ActionContext,
  host: Host,
  vmId: number,
  target: LvRef,
  sizeBytes: number,
): Promise<{ lv: Lv; poolCreated: boolean }> {
  const pool = poolName(vmId);
  const existing = await host.lvm.findLv(target.vg, pool);
  if (existing) await ensurePoolRoom(ctx, host, target.vg, pool, sizeBytes, existing);
  else {
    // Zeroing of new pool blocks (LVM's default, `z` in lv_attr) keeps a partially written block
    // from showing what the extents held before.
    await host.lvm.createThinPool({ vg: target.vg, lv: pool, sizeBytes });
    ctx.log.info(`created thin pool ${target.vg}/${pool} on ${host.name}`);
  }
  try {
    const lv = await host.lvm.createThinLv({
      vg: target.vg,
      pool,
      lv: target.lv,
      sizeBytes,
      tags: [hostTag(host.name)],
    });
    return { lv, poolCreated: !existing };
  } catch (error) {
    if (!existing) await removePoolIfEmpty(ctx, host, target.vg, vmId, false).catch(() => undefined);
    throw error;
  }
}

/** Removes a thin LV (not its pool); a missing LV is fine. */
export async function removeThinLv(ctx: ActionContext, host: Host, ref: LvRef): Promise<boolean> {
  const lv = await host.lvm.findLv(ref.vg, ref.lv);
  if (!lv) return false;
  if (lv.active) await host.lvm.deactivateLv(ref.vg, ref.lv);
  await host.lvm.removeLvIfExists(ref.vg, ref.lv);
  ctx.log.info(`removed thin ${ref.vg}/${ref.lv} on ${host.name}`);
  return true;
}

/**
 * Removes the VM's pool when no thin LV is left in it. With `zero` (ZERO_ON_DELETE) its data is
 * overwritten first: a thin LV as large as the pool, written with zeros, provisions (and so
 * overwrites) every data block once the pool is otherwise empty. Idempotent.
 */
export async function removePoolIfEmpty(
  ctx: ActionContext,
  host: Host,
  vg: string,
  vmId: number,
  zero: boolean,
): Promise<boolean> {
  const pool = poolName(vmId);
  const poolLv = await host.lvm.findLv(vg, pool);
  if (!poolLv) return false;
  const wipeLv = poolWipeLvName(vmId);
  const members = await poolMembers(host, vg, pool);
  if (members.some((lv) => lv.name !== wipeLv)) return false;
  if (members.length > 0) await removeThinLv(ctx, host, { vg, lv: wipeLv });
  if (zero) {
    const ref = { vg, lv: wipeLv };
    await host.lvm.createThinLv({ vg, pool, lv: wipeLv, sizeBytes: poolLv.sizeBytes });
    try {
      await host.lvm.ensureActive(vg, wipeLv, 'exclusive');
      await wipe(ctx, host, ref);
    } finally {
      await removeThinLv(ctx, host, ref);
    }
  }
  await host.lvm.ensureInactive(vg, pool);
  await host.lvm.removeLvIfExists(vg, pool);
  ctx.log.info(`removed thin pool ${vg}/${pool} on ${host.name}`);
  return true;
}

/**
 * Deactivates (and untags) on `host` every thin LV of `pool` and then the pool itself: a thin
 * pool moves between hosts as a whole (cold migration, stop, undeploy).
 */
export async function releasePool(host: Host, vg: string, pool: string): Promise<void> {
  for (const lv of await poolMembers(host, vg, pool)) await releaseFromHost(host, { vg, lv: lv.name });
  await host.lvm.ensureInactive(vg, pool);
}

/**
 * Removes a thin disk with its snapshots (and a revert's leftover), then the VM's pool when it is
 * left empty (its data zeroed first with `zero`). Missing pieces are fine (oned retries deletes).
 */
export async function removeThinDisk(
  ctx: ActionContext,
  host: Host,
  ref: LvRef,
  vmId: number,
  zero: boolean,
): Promise<void> {
  const pool = poolName(vmId);
  const own = (name: string) =>
    name === ref.lv || name === revertLvName(ref.lv) || name.startsWith(`${ref.lv}-snap-`);
  for (const lv of await poolMembers(host, ref.vg, pool))
    if (own(lv.name)) await removeThinLv(ctx, host, { vg: ref.vg, lv: lv.name });
  await removePoolIfEmpty(ctx, host, ref.vg, vmId, zero);
}

/** Deactivates the pool on `host` when none of its thin LVs is active there (after a temporary use). */
export async function deactivatePoolIfIdle(host: Host, vg: string, pool: string): Promise<void> {
  const members = await poolMembers(host, vg, pool);
  if (members.every((lv) => lv.active !== true)) await host.lvm.ensureInactive(vg, pool);
}
