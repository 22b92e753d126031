import {
  type ActionContext,
  activateForVm,
  checkDeployId,
  DriverError,
  freezeMode,
  type Host,
  hostTag,
  parseIdArg,
  rollback,
  withGuestFrozen,
} from '@one-gfs2clvm/driver-runtime';
import { type Lv, LvmError, type LvRef } from '@one-gfs2clvm/lvm';
import { parseHostDisk, parseVmIdArg } from '../args.js';
import { datastoreStorage } from '../context.js';
import { openDiskLine, readLinkedDisk } from '../disk-link.js';
import { deactivatePoolIfIdle, ensurePoolRoom, removeThinLv, revertLvName, snapshotLvName } from '../thin.js';
import { isVmDiskLv } from './delete.js';

/**
 * Disk snapshots (`snap_create`, `snap_delete`, `snap_revert`; argv
 * `host:<vm dir>/disk.<n> <snap id> <vm id> <ds id>`): thin snapshots of a thin disk,
 * `lv-one-<vm>-<disk>-snap-<id>`, in the VM's pool. oned runs them with the VM powered off,
 * suspended or paused by the hypervisor driver, so the disk is not written meanwhile. Thick disks:
 * not supported, one line. Snapshots are left inactive (only the disk is active for the VM).
 */

interface SnapTarget {
  host: Host;
  disk: LvRef;
  diskLv: Lv;
  snap: LvRef;
  snapId: number;
  vmId: number;
  pool: Lv;
  /** Whether the VM's pool was active on `host` before the action (else it is deactivated again). */
  poolWasActive: boolean;
}

const USAGE = 'host:<ds dir>/<vm>/disk.<n> <snap id> <vm id> <ds id>';

async function prepare(ctx: ActionContext, argv: readonly string[]): Promise<SnapTarget> {
  const line = await openDiskLine(ctx, argv, USAGE, (arg) => parseIdArg(arg, 'snapshot id'));
  const { location, arg: snapId, vmId, host, entry, target: disk } = line;
  if (!disk)
    throw new DriverError('NOT_FOUND', `${ctx.action} ${location.path}: not a link to an LV (${entry.type})`);
  const diskLv = await host.lvm.getLv(disk.vg, disk.lv);
  if (diskLv.pool === null || !isVmDiskLv(disk, vmId, location.diskId))
    throw new DriverError(
      'UNSUPPORTED',
      `${ctx.action}: disk snapshots not supported by gfs2clvm (thick LVs)`,
    );
  const pool = await host.lvm.getLv(disk.vg, diskLv.pool);
  return {
    host,
    disk,
    diskLv,
    snap: { vg: disk.vg, lv: snapshotLvName(disk.lv, snapId) },
    snapId,
    vmId,
    pool,
    poolWasActive: pool.active === true,
  };
}

/** Leaves the pool as it was found: inactive again on this host if nothing of it is in use here. */
async function restorePool(ctx: ActionContext, t: SnapTarget): Promise<void> {
  if (!t.poolWasActive)
    await rollback(ctx, [() => deactivatePoolIfIdle(t.host, t.disk.vg, t.diskLv.pool as string)]);
}

/**
 * A thin snapshot of `origin` named `name`, left inactive and without the host tag. `around` wraps
 * the `lvcreate` alone (snap_create_live freezes the guest there).
 */
async function thinSnapshot(
  t: SnapTarget,
  origin: string,
  name: string,
  around: (step: () => Promise<Lv>) => Promise<Lv> = (step) => step(),
): Promise<void> {
  const made = await around(() => t.host.lvm.createSnapshot({ vg: t.disk.vg, origin, lv: name }));
  // LVM copies the origin's tags: a snapshot must not be re-activated at boot.
  const tag = hostTag(t.host.name);
  if (made.tags.includes(tag)) await t.host.lvm.removeTag(t.disk.vg, name, tag);
  await t.host.lvm.ensureInactive(t.disk.vg, name);
}

/** `snap_create`: a thin snapshot of the disk; the pool grows so that it can never fill up. */
export async function snapCreate(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  await createSnapshot(ctx, await prepare(ctx, argv));
}

/**
 * `snap_create_live` (run by the VMM driver while the VM runs): the same snapshot as `snap_create`,
 * with the guest frozen per its `BACKUP_CONFIG/FS_FREEZE` (unset: the agent, else suspended) only
 * around the `lvcreate`; the pool is grown before. Thick disks: refused by `prepare`, nothing frozen.
 */
export async function snapCreateLive(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const t = await prepare(ctx, argv);
  const vm = await ctx.one.vm(t.vmId);
  // oned names the libvirt domain `one-<id>`; checked before anything changes.
  const guest = { vmId: t.vmId, deployId: checkDeployId(vm.deployId ?? `one-${t.vmId}`) };
  const mode = freezeMode(vm.fsFreeze);
  await createSnapshot(ctx, t, (step) =>
    withGuestFrozen(t.host, guest, mode, step, { log: ctx.log, action: ctx.action }),
  );
}

async function createSnapshot(
  ctx: ActionContext,
  t: SnapTarget,
  around?: (step: () => Promise<Lv>) => Promise<Lv>,
): Promise<void> {
  try {
    const existing = await t.host.lvm.findLv(t.snap.vg, t.snap.lv);
    if (existing) {
      // A retry after success: the same snapshot of the same disk. Anything else is not ours to replace.
      if (existing.pool !== t.diskLv.pool)
        throw new DriverError(
          'CONFLICT',
          `${ctx.action}: ${t.snap.lv} exists and is not a snapshot of ${t.disk.lv}`,
        );
      ctx.log.info(`${t.snap.vg}/${t.snap.lv} already exists`);
      return;
    }
    await ensurePoolRoom(ctx, t.host, t.disk.vg, t.pool.name, t.diskLv.sizeBytes, t.pool);
    await thinSnapshot(t, t.disk.lv, t.snap.lv, around);
    ctx.log.info(`snapshot ${t.snapId} of ${t.disk.lv}: ${t.snap.vg}/${t.snap.lv}`);
  } finally {
    await restorePool(ctx, t);
  }
}

/** `snap_delete`: removes the snapshot LV; a missing one is success. */
export async function snapDelete(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const t = await prepare(ctx, argv);
  try {
    if (!(await removeThinLv(ctx, t.host, t.snap))) ctx.log.info(`${t.snap.vg}/${t.snap.lv} already gone`);
  } finally {
    await restorePool(ctx, t);
  }
}

/**
 * `snap_revert`: the disk becomes a new thin snapshot of the snapshot (which stays), under the
 * disk's own name, so the `disk.<n>` link does not change. Steps, each safe to retry: make
 * `<disk>-revert` from the snapshot, remove the disk, rename `<disk>-revert` to the disk.
 */
export async function snapRevert(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const t = await prepare(ctx, argv).catch(async (error: unknown) => {
    // A retry after the disk was removed but before the rename: the link's LV is missing.
    if (LvmError.hasCode(error, 'NOT_FOUND') && (await finishInterruptedRevert(ctx, argv))) return null;
    throw error;
  });
  if (!t) return;
  const { host, disk } = t;
  const revert = revertLvName(disk.lv);
  try {
    if (!(await host.lvm.findLv(disk.vg, t.snap.lv)))
      throw new DriverError(
        'NOT_FOUND',
        `snap_revert: snapshot ${t.snapId} of ${disk.lv} not found (${t.snap.lv})`,
      );
    // A leftover of an interrupted attempt is made again from the snapshot.
    await removeThinLv(ctx, host, { vg: disk.vg, lv: revert });
    await ensurePoolRoom(ctx, host, disk.vg, t.pool.name, t.diskLv.sizeBytes, t.pool);
    await thinSnapshot(t, t.snap.lv, revert);
    // From here on the disk's old contents are given up: the VM is powered off (oned's rule).
    await host.lvm.ensureInactive(disk.vg, disk.lv);
    await host.lvm.removeLv(disk.vg, disk.lv);
    await host.lvm.renameLv(disk.vg, revert, disk.lv);
    if (t.diskLv.active) await activateForVm(host, disk);
    ctx.log.info(`${disk.lv} reverted to snapshot ${t.snapId}`);
  } finally {
    await restorePool(ctx, t);
  }
}

/** The disk LV is gone but `<disk>-revert` exists: rename it into place (the last step of a revert). */
async function finishInterruptedRevert(ctx: ActionContext, argv: readonly string[]): Promise<boolean> {
  const location = parseHostDisk(argv[0] as string, ctx.config.datastoreLocation);
  const vmId = parseVmIdArg(argv[2] as string, location);
  const sys = await datastoreStorage(ctx, location.dsId);
  const { host, onFrontEnd, target: disk } = await readLinkedDisk(ctx, location, sys, vmId);
  if (!disk || (await host.lvm.findLv(disk.vg, disk.lv))) return false;
  const revert = await host.lvm.findLv(disk.vg, revertLvName(disk.lv));
  if (!revert) return false;
  await host.lvm.renameLv(disk.vg, revert.name, disk.lv);
  if (!onFrontEnd) await activateForVm(host, disk);
  ctx.log.info(`${disk.lv}: finished an interrupted revert`);
  return true;
}
