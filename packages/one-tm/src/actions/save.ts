import {
  type ActionContext,
  copyLv,
  DriverError,
  destroyVmLv,
  expectArgs,
  type Host,
  LCM,
  parseIdArg,
  parseImageSource,
  releaseFromHost,
  rollback,
  WRITTEN_TAG,
} from '@one-gfs2clvm/driver-runtime';
import { devicePath, type Lv, LvmError, type LvRef } from '@one-gfs2clvm/lvm';
import { parseHostDisk, parseVmIdArg } from '../args.js';
import { datastoreStorage } from '../context.js';
import { openDiskLine, readLinkedDisk } from '../disk-link.js';
import { deactivatePoolIfIdle, removeThinDisk, snapshotLvName } from '../thin.js';
import { isVmDiskLv } from './delete.js';

/**
 * `mvds host:<vm dir>/disk.<n> <image source> <vm id> <image ds id>` (epilog of a disk saved to its
 * image). A persistent disk already is the image LV: released. A VM LV is copied into the image
 * LV, then removed. The link stays for the directory delete.
 */
export async function mvds(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const line = await openDiskLine(
    ctx,
    argv,
    'host:<ds dir>/<vm>/disk.<n> <vg>/<lv> <vm id> <image ds id>',
    parseImageSource,
  );
  const { location: disk, arg: image, vmId, sys, host, entry, target } = line;
  if (!target) {
    ctx.log.info(`${disk.path} is ${entry.type}: nothing to save`);
    return;
  }
  if (target.vg === image.vg && target.lv === image.lv) {
    await releaseFromHost(host, image).catch((error: unknown) => {
      if (LvmError.hasCode(error, 'IN_USE'))
        throw new DriverError('CONFLICT', `mvds ${image.lv}: still open on ${host.name} (VM not stopped?)`, {
          cause: error,
        });
      throw error;
    });
    return;
  }
  if (!isVmDiskLv(target, vmId, disk.diskId))
    throw new DriverError(
      'INVALID_ARGUMENT',
      `mvds ${disk.path}: points to ${target.vg}/${target.lv}, not a disk of VM ${vmId}`,
    );
  const lv = await copyIntoImage(ctx, host, target, image);
  if (lv.pool) await removeThinDisk(ctx, host, target, vmId, sys.zeroOnDelete);
  else await destroyVmLv(ctx, host, target, sys.zeroOnDelete);
}

/**
 * Copies `from` into the existing image LV `image` on `host` (a full copy: the image LV is thick),
 * leaving the image inactive and `from` (and a thin source's pool) as they were. Returns `from`.
 */
async function copyIntoImage(ctx: ActionContext, host: Host, from: LvRef, image: LvRef): Promise<Lv> {
  const [source, dest] = await Promise.all([
    host.lvm.getLv(from.vg, from.lv),
    host.lvm.getLv(image.vg, image.lv),
  ]);
  if (dest.sizeBytes < source.sizeBytes) await host.lvm.extendLv(image.vg, image.lv, source.sizeBytes);
  const sourceWasActive = source.active === true;
  const poolWasActive = source.pool ? (await host.lvm.getLv(from.vg, source.pool)).active === true : true;
  if (!sourceWasActive) await host.lvm.activateLv(from.vg, from.lv, 'exclusive');
  try {
    // Marked written in the same lvchange: an allocation map the image had no longer holds.
    await host.lvm.activateLv(image.vg, image.lv, 'exclusive', { addTags: [WRITTEN_TAG] });
    await copyLv(ctx, host, from, image);
  } finally {
    await rollback(ctx, [
      ...(poolWasActive ? [] : [() => deactivatePoolIfIdle(host, from.vg, source.pool as string)]),
      ...(sourceWasActive ? [] : [() => host.lvm.ensureInactive(from.vg, from.lv)]),
      () => host.lvm.ensureInactive(image.vg, image.lv),
    ]);
  }
  return source;
}

/**
 * `cpds host:<vm dir>/disk.<n> <new image source> <snap id> <vm id> <image ds id>` (disk-saveas):
 * creates the image LV the DS `mkfs` (FORMAT save_as) only named, and copies the disk into it.
 * Refused while the VM runs (it would copy a disk being written).
 */
export async function cpds(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  expectArgs(ctx.action, argv, [5], 'host:<ds dir>/<vm>/disk.<n> <vg>/<lv> <snap id> <vm id> <image ds id>');
  const disk = parseHostDisk(argv[0] as string, ctx.config.datastoreLocation);
  const image = parseImageSource(argv[1] as string);
  // -1: the disk as it is now; else a snapshot id (thin disks only).
  const snapId = argv[2] === '-1' ? undefined : parseIdArg(argv[2] as string, 'snapshot id');
  const vmId = parseVmIdArg(argv[3] as string, disk);
  parseIdArg(argv[4] as string, 'datastore id');
  const vm = await ctx.one.vm(vmId);
  // A snapshot is not written by the running VM: only the live disk needs the VM off.
  if (vm.lcmState === LCM.HOTPLUG_SAVEAS && snapId === undefined)
    throw new DriverError('CONFLICT', `disk-saveas of running VM ${vmId} refused: power it off first`);
  const sys = await datastoreStorage(ctx, disk.dsId);
  const { host, entry, target: linked } = await readLinkedDisk(ctx, disk, sys, vmId);
  if (!linked) throw new DriverError('NOT_FOUND', `cpds ${disk.path}: not a link to an LV (${entry.type})`);
  const from = snapId === undefined ? linked : await snapshotOf(host, linked, snapId);
  const source = await host.lvm.getLv(from.vg, from.lv);
  // Not READY in oned until this succeeds: an LV of that name is a leftover of an interrupted run.
  if (await host.lvm.findLv(image.vg, image.lv)) await destroyVmLv(ctx, host, image, false);
  const undo: Array<() => Promise<unknown>> = [];
  try {
    await host.lvm.createLv({ vg: image.vg, lv: image.lv, sizeBytes: source.sizeBytes });
    undo.push(() => destroyVmLv(ctx, host, image, false));
    await copyIntoImage(ctx, host, from, image);
    ctx.log.info(`saved ${from.lv} as ${devicePath(image)}`);
  } catch (error) {
    await rollback(ctx, undo);
    throw error;
  }
}

/** The snapshot LV `snapId` of the thin disk `disk`; refused for thick disks (they have none). */
async function snapshotOf(host: Host, disk: LvRef, snapId: number): Promise<LvRef> {
  const lv = await host.lvm.getLv(disk.vg, disk.lv);
  if (!lv.pool)
    throw new DriverError('UNSUPPORTED', `cpds of snapshot ${snapId}: snapshots not supported (thick LVs)`);
  const snap = { vg: disk.vg, lv: snapshotLvName(disk.lv, snapId) };
  if (!(await host.lvm.findLv(snap.vg, snap.lv)))
    throw new DriverError('NOT_FOUND', `cpds: snapshot ${snapId} of ${disk.lv} not found (${snap.lv})`);
  return snap;
}
