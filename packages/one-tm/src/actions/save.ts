import { readDiskLink } from '@one-gfs2clvm/gfs2';
import { devicePath, LvmError, type LvRef } from '@one-gfs2clvm/lvm';
import { expectArgs, parseHostDisk, parseIdArg, parseImageSource, parseVmIdArg } from '../args.js';
import { type ActionContext, datastoreStorage, workHostFor } from '../context.js';
import { TmError } from '../errors.js';
import type { Host } from '../hosts.js';
import { copyLv, destroyVmLv, releaseFromHost, rollback } from '../lv-ops.js';
import { LCM } from '../one-client.js';
import { isVmDiskLv, linkTarget } from './delete.js';

/**
 * `mvds host:<vm dir>/disk.<n> <image source> <vm id> <image ds id>` (epilog of a disk saved to its
 * image). A persistent disk already is the image LV: released. A VM LV is copied into the image
 * LV, then removed. The link stays for the directory delete.
 */
export async function mvds(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  expectArgs(ctx.action, argv, [4], 'host:<ds dir>/<vm>/disk.<n> <vg>/<lv> <vm id> <image ds id>');
  const disk = parseHostDisk(argv[0] as string, ctx.config.datastoreLocation);
  const image = parseImageSource(argv[1] as string);
  const vmId = parseVmIdArg(argv[2] as string, disk);
  parseIdArg(argv[3] as string, 'datastore id');
  const sys = await datastoreStorage(ctx, disk.dsId);
  const host = ctx.hosts.get((await workHostFor(ctx, disk.host, sys, vmId)).name);
  const entry = await readDiskLink(host.runner, disk);
  const target = entry.type === 'symlink' ? linkTarget(entry.target) : null;
  if (!target) {
    ctx.log.info(`${disk.path} is ${entry.type}: nothing to save`);
    return;
  }
  if (target.vg === image.vg && target.lv === image.lv) {
    await releaseFromHost(host, image).catch((error: unknown) => {
      if (LvmError.hasCode(error, 'IN_USE'))
        throw new TmError('CONFLICT', `mvds ${image.lv}: still open on ${host.name} (VM not stopped?)`, {
          cause: error,
        });
      throw error;
    });
    return;
  }
  if (!isVmDiskLv(target, vmId, disk.diskId))
    throw new TmError(
      'INVALID_ARGUMENT',
      `mvds ${disk.path}: points to ${target.vg}/${target.lv}, not a disk of VM ${vmId}`,
    );
  await copyIntoImage(ctx, host, target, image);
  await destroyVmLv(ctx, host, target, sys.zeroOnDelete);
}

/** Copies `from` into the existing image LV `image` on `host`, leaving the image inactive. */
async function copyIntoImage(ctx: ActionContext, host: Host, from: LvRef, image: LvRef): Promise<void> {
  const [source, dest] = await Promise.all([
    host.lvm.getLv(from.vg, from.lv),
    host.lvm.getLv(image.vg, image.lv),
  ]);
  if (dest.sizeBytes < source.sizeBytes) await host.lvm.extendLv(image.vg, image.lv, source.sizeBytes);
  const sourceWasActive = source.active === true;
  if (!sourceWasActive) await host.lvm.activateLv(from.vg, from.lv, 'exclusive');
  try {
    await host.lvm.ensureActive(image.vg, image.lv, 'exclusive');
    await copyLv(ctx, host, from, image);
  } finally {
    await rollback(ctx, [
      ...(sourceWasActive ? [] : [() => host.lvm.ensureInactive(from.vg, from.lv)]),
      () => host.lvm.ensureInactive(image.vg, image.lv),
    ]);
  }
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
  if (argv[2] !== '-1')
    throw new TmError(
      'UNSUPPORTED',
      `cpds of snapshot ${String(argv[2]).slice(0, 20)}: snapshots not supported`,
    );
  const vmId = parseVmIdArg(argv[3] as string, disk);
  parseIdArg(argv[4] as string, 'datastore id');
  const vm = await ctx.one.vm(vmId);
  if (vm.lcmState === LCM.HOTPLUG_SAVEAS)
    throw new TmError('CONFLICT', `disk-saveas of running VM ${vmId} refused: power it off first`);
  const sys = await datastoreStorage(ctx, disk.dsId);
  const host = ctx.hosts.get((await workHostFor(ctx, disk.host, sys, vmId)).name);
  const entry = await readDiskLink(host.runner, disk);
  const from = entry.type === 'symlink' ? linkTarget(entry.target) : null;
  if (!from) throw new TmError('NOT_FOUND', `cpds ${disk.path}: not a link to an LV (${entry.type})`);
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
