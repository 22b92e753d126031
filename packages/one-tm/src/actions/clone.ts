import {
  type ActionContext,
  type AllocationMap,
  acquireLease,
  activateForVm,
  copyLv,
  copyLvRanges,
  DriverError,
  destroyVmLv,
  expectArgs,
  type Host,
  hostTag,
  isFrontEnd,
  mapFromTags,
  mappedBytes,
  parseIdArg,
  parseImageSource,
  releaseLease,
  releaseVmImage,
  removeEmptyVmDir,
  rollback,
  underLease,
  wipe,
  withLease,
  writesZeroesFast,
} from '@one-gfs2clvm/driver-runtime';
import {
  type DiskEntry,
  ensureVmDir,
  ensureVmDirAndLink,
  linkDisk,
  readDiskLink,
  removeDiskLink,
} from '@one-gfs2clvm/gfs2';
import { devicePath, type Lv, LvmError, type LvRef, vmDiskLvName } from '@one-gfs2clvm/lvm';
import { type HostDisk, parseHostDisk, parseVmIdArg } from '../args.js';
import { datastoreStorage } from '../context.js';
import { createThinDisk, removePoolIfEmpty, removeThinLv } from '../thin.js';

const MiB = 2 ** 20;
const USAGE = 'fe:<vg>/<lv> host:<ds dir>/<vm>/disk.<n> <vm id> <image ds id>';

interface DiskArgs {
  image: LvRef;
  dst: HostDisk;
  vmId: number;
}

function parse(ctx: ActionContext, argv: readonly string[]): DiskArgs {
  expectArgs(ctx.action, argv, [4], USAGE);
  const image = parseImageSource(argv[0] as string);
  const dst = parseHostDisk(argv[1] as string, ctx.config.datastoreLocation);
  const vmId = parseVmIdArg(argv[2] as string, dst);
  parseIdArg(argv[3] as string, 'datastore id');
  if (isFrontEnd(dst.host, ctx.config))
    throw new DriverError(
      'INVALID_ARGUMENT',
      `${ctx.action} to the front-end ${dst.host}: it cannot see the SAN`,
    );
  return { image, dst, vmId };
}

const pointsTo = (entry: DiskEntry, ref: LvRef) =>
  entry.type === 'symlink' && entry.target === devicePath(ref);

/**
 * CDROM images are not copied: linked and activated shared (read-only, many VMs). The activation
 * runs under the image's front-end lease (image-lease.ts), so a copy's release on this host cannot
 * deactivate it between its look and its `lvchange`; on failure an activation made here is
 * released like a copy's (kept while another user reads it).
 */
async function linkShared(ctx: ActionContext, { image, dst }: DiskArgs): Promise<void> {
  const host = ctx.hosts.get(dst.host);
  const lease = await acquireLease(ctx, host, image);
  let before: Lv | undefined;
  try {
    before = await host.lvm.getLv(image.vg, image.lv);
    await ensureVmDir(host.runner, dst);
    await host.lvm.ensureActive(image.vg, image.lv, 'shared');
    await linkDisk(host.runner, dst, devicePath(image));
  } catch (error) {
    const wasActive = before?.active === true;
    await rollback(ctx, [
      () => removeEmptyVmDir(host, dst.vmDir),
      () => (wasActive ? lease.release() : releaseLease(ctx, host, image, lease)),
    ]);
    throw error;
  }
  await lease.release();
}

/** `clone`: a new LV for a non-persistent disk, the image copied into it on the destination host. */
export async function clone(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const args = parse(ctx, argv);
  const { image, dst, vmId } = args;
  const vm = await ctx.one.vm(vmId);
  const disk = vm.disks.find((d) => d.id === dst.diskId);
  if (disk?.type.toUpperCase() === 'CDROM') return linkShared(ctx, args);

  const sys = await datastoreStorage(ctx, dst.dsId);
  const host = ctx.hosts.get(dst.host);
  const target = { vg: sys.vg, lv: vmDiskLvName(vmId, dst.diskId) };

  // The link is made last: link + LV means a previous run completed; an LV alone is a leftover.
  const [entry, existing] = await Promise.all([
    readDiskLink(host.runner, dst),
    host.lvm.findLv(target.vg, target.lv),
  ]);
  if (existing && pointsTo(entry, target)) {
    ctx.log.info(`${target.vg}/${target.lv} already cloned; making sure it is active on ${host.name}`);
    await activateForVm(host, target);
    return;
  }
  if (existing) {
    ctx.log.info(`removing ${target.vg}/${target.lv} left by an interrupted clone`);
    await removeLeftover(ctx, host, target);
  }

  const source = await host.lvm.getLv(image.vg, image.lv);
  const sizeBytes = Math.max((disk?.sizeMiB ?? 0) * MiB, source.sizeBytes);
  await ensureVmDir(host.runner, dst);
  if (sys.thinProvisioning) return cloneThin(ctx, host, args, target, source, sizeBytes);
  const undo: Array<() => Promise<unknown>> = [() => removeEmptyVmDir(host, dst.vmDir)];
  try {
    // lvcreate activates the new LV exclusively on this host; the tag records it for reboots.
    const made = await host.lvm.createLv({
      vg: target.vg,
      lv: target.lv,
      sizeBytes,
      tags: [hostTag(host.name)],
    });
    undo.push(() => destroyVmLv(ctx, host, target, false));
    // ZERO_ON_CREATE where the device writes zeroes cheaply: the whole LV is wiped first, so it
    // reads as zeros and the copy may skip the image's zero blocks (design §7). Otherwise the
    // copy writes every block and only the tail beyond the image is zeroed.
    const wipedWhole = sys.zeroOnCreate && (await writesZeroesFast(host, target));
    if (wipedWhole) await wipe(ctx, host, target);
    // Onto the wiped LV only the image's chunks that hold data need copying, when it has a map.
    const map = wipedWhole ? usableMap(ctx, image, source) : undefined;
    await withLease(ctx, host, image, 'shared', source, () =>
      map
        ? copyLvRanges(ctx, host, image, target, map)
        : copyLv(ctx, host, image, target, wipedWhole ? { zeroTarget: 'wiped' } : {}),
    );
    if (sys.zeroOnCreate && !wipedWhole)
      await wipe(ctx, host, target, {
        offsetBytes: source.sizeBytes,
        lengthBytes: made.sizeBytes - source.sizeBytes,
      });
    await linkDisk(host.runner, dst, devicePath(target));
  } catch (error) {
    await rollback(ctx, undo);
    throw error;
  }
}

/**
 * Thin mode: a new thin LV in the VM's pool reads as zeros, so the copy skips the image's zero
 * blocks (they stay unprovisioned) and there is no tail to zero; with the image's allocation map
 * only the chunks that hold data are read at all.
 */
async function cloneThin(
  ctx: ActionContext,
  host: Host,
  { image, dst, vmId }: DiskArgs,
  ref: LvRef,
  source: Lv,
  sizeBytes: number,
): Promise<void> {
  const undo: Array<() => Promise<unknown>> = [
    () => removeEmptyVmDir(host, dst.vmDir),
    () => removePoolIfEmpty(ctx, host, ref.vg, vmId, false),
  ];
  try {
    await createThinDisk(ctx, host, vmId, ref, sizeBytes);
    undo.push(() => removeThinLv(ctx, host, ref));
    const map = usableMap(ctx, image, source);
    await withLease(ctx, host, image, 'shared', source, () =>
      map
        ? copyLvRanges(ctx, host, image, ref, map)
        : copyLv(ctx, host, image, ref, { zeroTarget: 'new-thin' }),
    );
    await linkDisk(host.runner, dst, devicePath(ref));
  } catch (error) {
    await rollback(ctx, undo);
    throw error;
  }
}

/**
 * The image's allocation map (alloc-map.ts) when it may be trusted — only for a target that reads
 * as zeros (the caller's part) — else `undefined`, the reason logged.
 */
function usableMap(ctx: ActionContext, image: LvRef, source: Lv): AllocationMap | undefined {
  const lookup = mapFromTags(source.tags, source.sizeBytes);
  if (!lookup.map) {
    ctx.log.info(`${image.vg}/${image.lv}: whole image read (${lookup.why})`);
    return undefined;
  }
  ctx.log.info(
    `${image.vg}/${image.lv}: allocation map: ${mappedBytes(lookup.map) / MiB} of ${source.sizeBytes / MiB} MiB to copy`,
  );
  return lookup.map;
}

/**
 * Removes the LV an interrupted clone left. Another host may still hold its lock: the clone ran
 * there, and a host that died keeps its locks until its lock-manager lease expires (sanlock: a
 * few minutes after the crash; seen on the testbed). Then this retry is refused with one line
 * that says so, having changed nothing; the same retry succeeds once the lease has expired.
 */
async function removeLeftover(ctx: ActionContext, host: Host, target: LvRef): Promise<void> {
  try {
    await destroyVmLv(ctx, host, target, false);
  } catch (error) {
    if (!LvmError.hasCode(error, 'LOCKED_BY_OTHER_HOST')) throw error;
    throw new DriverError(
      'CONFLICT',
      `${target.vg}/${target.lv} is locked by another host: an interrupted clone left it there; a host that crashed keeps its locks until its lease expires (minutes): retry then (${error.message})`,
      { cause: error },
    );
  }
}

/** `ln`: a persistent disk runs on the image LV itself — exclusive on the host, linked, no copy. */
export async function ln(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const args = parse(ctx, argv);
  const { image, dst, vmId } = args;
  const vm = await ctx.one.vm(vmId);
  const disk = vm.disks.find((d) => d.id === dst.diskId);
  if (disk?.type.toUpperCase() === 'CDROM') return linkShared(ctx, args);

  const host = ctx.hosts.get(dst.host);
  // No lvs first: the activation finds a missing image itself (NOT_FOUND), and on failure the
  // image is released whatever its state was before — a persistent image serves one VM only,
  // and that VM is not running while its prolog runs (its own earlier ln is what a retry finds).
  // The VM dir with its link (GFS2 checks, mkdir, the atomic link: one remote command) and the
  // activation are independent: both at once over the one connection. The link may exist a moment
  // before the LV is active: nothing opens it before the prolog is done. A failure of either half
  // undoes both: this disk's link where it points to the image, the VM dir if empty, the image
  // released; a retry then starts from scratch.
  const [linked, activated] = await Promise.allSettled([
    ensureVmDirAndLink(host.runner, dst, devicePath(image)),
    // one_written: from now on the VM may write the image (its allocation map no longer holds).
    // Under the image's lease: a copy's release on this host cannot interleave (image-lease.ts).
    underLease(ctx, host, image, () => activateForVm(host, image, undefined, { markWritten: true })),
  ]);
  try {
    if (linked.status === 'rejected') throw linked.reason;
    if (activated.status === 'rejected') throw activated.reason;
  } catch (error) {
    await rollback(ctx, [
      () => releaseVmImage(ctx, host, image),
      () => removeEmptyVmDir(host, dst.vmDir),
      () => unlinkIfTo(host, dst, image),
    ]);
    if (LvmError.hasCode(error, 'LOCKED_BY_OTHER_HOST'))
      throw new DriverError(
        'CONFLICT',
        `image ${image.vg}/${image.lv} is active on another host: ${error.message}`,
        {
          cause: error,
        },
      );
    throw error;
  }
}

/** Removes `disk.N` if it is a link to `ref` (the undo of a failed `ln`; anything else stays). */
async function unlinkIfTo(host: Host, dst: HostDisk, ref: LvRef): Promise<void> {
  if (pointsTo(await readDiskLink(host.runner, dst), ref)) await removeDiskLink(host.runner, dst);
}
