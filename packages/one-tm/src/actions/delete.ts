import {
  type ActionContext,
  destroyVmLv,
  expectArgs,
  type Host,
  parseIdArg,
  releaseVmImage,
} from '@one-gfs2clvm/driver-runtime';
import { readDiskLink, removeDiskLink, removeVmDir } from '@one-gfs2clvm/gfs2';
import { type LvRef, parseLvName, parseSource, vmDiskLvName } from '@one-gfs2clvm/lvm';
import { parseLocation, parseVmIdArg } from '../args.js';
import { datastoreStorage, workHostFor } from '../context.js';
import { isThin, poolName, removeThinDisk } from '../thin.js';

/**
 * `delete host:<vm dir>/disk.<n> <vm id> <ds id>` or `delete host:<vm dir> <vm id> <sys ds id>`.
 * A VM-owned LV is zeroed (ZERO_ON_DELETE) and removed; an image LV (persistent, CDROM) is only
 * released; the VM directory is removed. Missing things are success (oned retries).
 */
export async function del(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  expectArgs(ctx.action, argv, [3], 'host:<ds dir>/<vm>[/disk.<n>] <vm id> <ds id>');
  const location = parseLocation(argv[0] as string, ctx.config.datastoreLocation);
  const vmId = parseVmIdArg(argv[1] as string, location);
  parseIdArg(argv[2] as string, 'datastore id');
  const sys = await datastoreStorage(ctx, location.dsId);
  const work = await workHostFor(ctx, location.host, sys, vmId);
  const host = ctx.hosts.get(work.name);

  if (location.kind === 'vmdir') {
    await removeVmDir(host.runner, location);
    return;
  }
  const own: LvRef = { vg: sys.vg, lv: vmDiskLvName(vmId, location.diskId) };
  // Sequential on purpose: a testbed host (one emulated CPU) gains nothing from parallel commands,
  // and the lvm library probes LVM's capabilities on its first command.
  const entry = await readDiskLink(host.runner, location);
  if (entry.type === 'symlink') {
    const target = linkTarget(entry.target);
    if (!target)
      ctx.log.info(`${location.path} points to ${entry.target}, not an LV: only the link is removed`);
    else if (isVmDiskLv(target, vmId, location.diskId))
      await destroyDisk(ctx, host, target, vmId, sys.zeroOnDelete, false);
    else await releaseVmImage(ctx, host, target);
  }
  // An LV without its link is what an interrupted clone/mkimage leaves behind.
  // (A link to an LV means the create finished; only a missing or foreign link can hide one.)
  if (entry.type !== 'symlink' || !linkTarget(entry.target))
    await destroyDisk(ctx, host, own, vmId, sys.zeroOnDelete, true);
  await removeDiskLink(host.runner, location);
}

/**
 * A VM-owned disk LV: thick ones zeroed (ZERO_ON_DELETE) and removed; thin ones removed with their
 * snapshots, and the VM's pool with them when it is left empty. `leftover`: the LV may be missing
 * while an interrupted thin create left the pool behind.
 */
async function destroyDisk(
  ctx: ActionContext,
  host: Host,
  ref: LvRef,
  vmId: number,
  zero: boolean,
  leftover: boolean,
): Promise<void> {
  const lv = await host.lvm.findLv(ref.vg, ref.lv);
  if (lv && !isThin(lv)) {
    await destroyVmLv(ctx, host, ref, zero);
    return;
  }
  if (lv || (leftover && (await host.lvm.findLv(ref.vg, poolName(vmId)))))
    await removeThinDisk(ctx, host, ref, vmId, zero);
}

/** `/dev/<vg>/<lv>` → the LV, `null` for anything else. */
export function linkTarget(target: string): LvRef | null {
  if (!target.startsWith('/dev/')) return null;
  try {
    return parseSource(target);
  } catch {
    return null;
  }
}

export function isVmDiskLv(ref: LvRef, vmId: number, diskId: number): boolean {
  const parsed = parseLvName(ref.lv);
  return parsed.kind === 'vm-disk' && parsed.vmId === vmId && parsed.diskId === diskId;
}
