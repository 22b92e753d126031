import {
  type ActionContext,
  activateForVm,
  copyLv,
  DriverError,
  destroyVmLv,
  expectArgs,
  type Host,
  hostCommandFailed,
  hostTag,
  isFrontEnd,
  parseIdArg,
  rollback,
  wipe,
} from '@one-gfs2clvm/driver-runtime';
import { type DiskLocation, ensureDatastoreDir, linkDisk, readDiskLink } from '@one-gfs2clvm/gfs2';
import { devicePath, LvmError, type LvRef, vmDiskLvName } from '@one-gfs2clvm/lvm';
import { RemoteError } from '@one-gfs2clvm/ssh-remote';
import { type HostDisk, type HostVmDir, parseLocation, parseVmIdArg } from '../args.js';
import { type DatastoreStorage, datastoreStorage, workHostFor } from '../context.js';
import {
  createThinDisk,
  deactivatePoolIfIdle,
  poolMembers,
  releasePool,
  removePoolIfEmpty,
  removeThinDisk,
  removeThinLv,
} from '../thin.js';
import { isVmDiskLv, linkTarget } from './delete.js';

/**
 * `mv src:<vm dir>[/disk.<n>] dst:<vm dir>[/disk.<n>] <vm id> <ds id>`: cold migration, stop,
 * undeploy, resume, and a change of system datastore. The VM directory is on GFS2, the same path
 * on every host: within one datastore only the activation moves (a thin disk's whole pool: thin
 * LVs are active on one host at a time). Another system datastore (protocol §2.3): each disk line
 * copies the VM's LV into the new datastore's VG and re-points `disk.<n>` in the old directory;
 * the directory line then renames the directory to its new path.
 */
export async function mv(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  expectArgs(
    ctx.action,
    argv,
    [4],
    'src:<ds dir>/<vm>[/disk.<n>] dst:<ds dir>/<vm>[/disk.<n>] <vm id> <ds id>',
  );
  const src = parseLocation(argv[0] as string, ctx.config.datastoreLocation);
  const dst = parseLocation(argv[1] as string, ctx.config.datastoreLocation);
  const vmId = parseVmIdArg(argv[2] as string, src);
  parseVmIdArg(argv[2] as string, dst);
  parseIdArg(argv[3] as string, 'datastore id');
  if (src.kind !== dst.kind)
    throw new DriverError('INVALID_ARGUMENT', `mv ${src.path} to ${dst.path}: not the same kind`);
  if (src.kind === 'vmdir' || dst.kind === 'vmdir') {
    if (src.path !== dst.path) await moveVmDir(ctx, src as HostVmDir, dst as HostVmDir, vmId);
    return; // same GFS2 path: nothing to move
  }
  if (src.dsId !== dst.dsId || src.diskId !== dst.diskId) {
    if (src.diskId !== dst.diskId)
      throw new DriverError('INVALID_ARGUMENT', `mv ${src.path} to ${dst.path}: not the same disk`);
    await moveToOtherDatastore(ctx, src, dst, vmId);
    return;
  }

  const srcOnFe = isFrontEnd(src.host, ctx.config);
  const dstOnFe = isFrontEnd(dst.host, ctx.config);
  if (srcOnFe && dstOnFe) return;
  const reader = ctx.hosts.get(dstOnFe ? src.host : dst.host);
  const entry = await readDiskLink(reader.runner, dst);
  if (entry.type !== 'symlink') {
    ctx.log.info(`${dst.path} is ${entry.type}: nothing to activate`);
    return;
  }
  const target = linkTarget(entry.target);
  if (!target) return;
  await datastoreStorage(ctx, dst.dsId); // fails early on an unknown datastore
  if (!srcOnFe && src.host !== dst.host) await releaseOnSource(ctx, src.host, target);
  if (!dstOnFe) await activateOnDestination(ctx, dst, vmId, target);
}

async function activateOnDestination(
  ctx: ActionContext,
  dst: HostDisk,
  vmId: number,
  target: LvRef,
): Promise<void> {
  const vm = await ctx.one.vm(vmId);
  const shared = vm.disks.find((d) => d.id === dst.diskId)?.type.toUpperCase() === 'CDROM';
  const host = ctx.hosts.get(dst.host);
  if (shared) await host.lvm.ensureActive(target.vg, target.lv, 'shared');
  else await activateForVm(host, target);
}

/**
 * Deactivation (and untagging) on the source; a thin disk's whole pool goes (its other disks
 * follow with their own lines). A source host that is down (cold migration away from a failed
 * host) must not block the move.
 */
async function releaseOnSource(ctx: ActionContext, hostName: string, target: LvRef): Promise<void> {
  const host = ctx.hosts.get(hostName);
  try {
    const lv = await host.lvm.findLv(target.vg, target.lv);
    if (!lv) return;
    if (lv.pool) {
      await releasePool(host, target.vg, lv.pool);
      return;
    }
    if (lv.active) await host.lvm.deactivateLv(target.vg, target.lv);
    const tag = hostTag(host.name);
    if (lv.tags.includes(tag)) await host.lvm.removeTag(target.vg, target.lv, tag);
  } catch (error) {
    const unreachable =
      RemoteError.isInstance(error) ||
      (LvmError.isInstance(error) &&
        RemoteError.isInstance(error.cause) &&
        error.cause.code === 'UNREACHABLE');
    if (!unreachable) throw error;
    ctx.log.error(
      `${hostName} unreachable, ${target.vg}/${target.lv} not deactivated there: ${(error as Error).message}`,
    );
  }
}

/** The host that does the copy: the destination host, else the source, else a work host. */
async function copyHost(
  ctx: ActionContext,
  src: HostDisk,
  dst: HostDisk,
  dstSys: DatastoreStorage,
  vmId: number,
) {
  if (!isFrontEnd(dst.host, ctx.config)) return ctx.hosts.get(dst.host);
  if (!isFrontEnd(src.host, ctx.config)) return ctx.hosts.get(src.host);
  return ctx.hosts.get((await workHostFor(ctx, dst.host, dstSys, vmId)).name);
}

/**
 * A disk moves to another system datastore: a new LV in the new VG (thin or thick as that
 * datastore says), the data copied on one host, `disk.<n>` of the old directory re-pointed (the
 * directory line renames the directory afterwards), then the old LV removed. Until the re-link the
 * old LV is untouched, so a failure leaves the VM as it was; every step is safe to run again.
 */
async function moveToOtherDatastore(
  ctx: ActionContext,
  src: HostDisk,
  dst: HostDisk,
  vmId: number,
): Promise<void> {
  const [srcSys, dstSys] = await Promise.all([
    datastoreStorage(ctx, src.dsId),
    datastoreStorage(ctx, dst.dsId),
  ]);
  const dstOnFe = isFrontEnd(dst.host, ctx.config);
  const host = await copyHost(ctx, src, dst, dstSys, vmId);
  const entry = await readDiskLink(host.runner, src);
  const old = entry.type === 'symlink' ? linkTarget(entry.target) : null;
  if (!old) {
    ctx.log.info(`${src.path} is ${entry.type}: nothing to move`);
    return;
  }
  const moved: LvRef = { vg: dstSys.vg, lv: vmDiskLvName(vmId, src.diskId) };
  const sameLv = old.vg === moved.vg && old.lv === moved.lv;
  if (sameLv || !isVmDiskLv(old, vmId, src.diskId) || old.vg === moved.vg) {
    // Already moved (a retry), an image LV (persistent, CDROM) or both datastores share a VG:
    // nothing to copy. A retry still removes an old LV the interrupted run left.
    if (sameLv && srcSys.vg !== dstSys.vg)
      await removeOldLv(ctx, host, { vg: srcSys.vg, lv: moved.lv }, vmId, srcSys);
    if (!isFrontEnd(src.host, ctx.config) && src.host !== host.name)
      await releaseOnSource(ctx, src.host, old);
    if (!dstOnFe) await activateOnDestination(ctx, dst, vmId, old);
    return;
  }

  // A new LV without the link to it is a leftover of an interrupted attempt (this read also
  // proves the new VG is there before anything changes).
  const leftover = await host.lvm.findLv(moved.vg, moved.lv);
  await refuseWithSnapshots(host, old, dstSys.dsId);
  const srcHost = !isFrontEnd(src.host, ctx.config) && src.host !== host.name ? src.host : undefined;
  if (srcHost) await releaseOnSource(ctx, srcHost, old);
  const undo: Array<() => Promise<unknown>> = srcHost
    ? [() => activateForVm(ctx.hosts.get(srcHost), old)] // a failure gives the source its disk back
    : [];
  try {
    await copyAndRelink(ctx, host, { src, dstSys, vmId, old, moved, leftover: leftover !== null }, undo);
  } catch (error) {
    await rollback(ctx, undo);
    throw error;
  }
  ctx.log.info(`${old.vg}/${old.lv} copied to ${moved.vg}/${moved.lv} on ${host.name}`);
  await removeOldLv(ctx, host, old, vmId, srcSys);
  if (dstOnFe) await releaseOnSource(ctx, host.name, moved); // stop/undeploy: active nowhere
}

/** Snapshots stay behind in the old pool: refused rather than lost (oned would still list them). */
async function refuseWithSnapshots(host: Host, old: LvRef, dsId: number): Promise<void> {
  const oldLv = await host.lvm.getLv(old.vg, old.lv);
  if (!oldLv.pool) return;
  const snapshots = (await poolMembers(host, old.vg, oldLv.pool)).filter((lv) =>
    lv.name.startsWith(`${old.lv}-snap-`),
  );
  if (snapshots.length > 0)
    throw new DriverError(
      'UNSUPPORTED',
      `mv ${old.lv} to system datastore ${dsId} refused: it has ${snapshots.length} snapshot(s), delete them first`,
    );
}

interface Copy {
  src: HostDisk;
  dstSys: DatastoreStorage;
  vmId: number;
  old: LvRef;
  moved: LvRef;
  /** A new LV exists without the link to it: a leftover of an interrupted attempt. */
  leftover: boolean;
}

/** The copy of a datastore change; `undo` collects what a failure must take back. */
async function copyAndRelink(
  ctx: ActionContext,
  host: Host,
  { src, dstSys, vmId, old, moved, leftover }: Copy,
  undo: Array<() => Promise<unknown>>,
): Promise<void> {
  const oldLv = await host.lvm.getLv(old.vg, old.lv);
  if (leftover) {
    const lv = await host.lvm.getLv(moved.vg, moved.lv);
    if (lv.pool) await removeThinDisk(ctx, host, moved, vmId, false);
    else await destroyVmLv(ctx, host, moved, false);
  }

  const sizeBytes = oldLv.sizeBytes;
  const poolWasActive = oldLv.pool ? (await host.lvm.getLv(old.vg, oldLv.pool)).active === true : true;
  if (!oldLv.active) {
    await host.lvm.activateLv(old.vg, old.lv, 'exclusive');
    undo.push(() => host.lvm.ensureInactive(old.vg, old.lv));
    if (!poolWasActive) undo.push(() => deactivatePoolIfIdle(host, old.vg, oldLv.pool as string));
  }
  if (dstSys.thinProvisioning) {
    undo.push(() => removePoolIfEmpty(ctx, host, moved.vg, vmId, false));
    await createThinDisk(ctx, host, vmId, moved, sizeBytes);
    undo.push(() => removeThinLv(ctx, host, moved));
    await copyLv(ctx, host, old, moved, { zeroTarget: 'new-thin' });
  } else {
    const made = await host.lvm.createLv({ ...moved, sizeBytes, tags: [hostTag(host.name)] });
    undo.push(() => destroyVmLv(ctx, host, moved, false));
    await copyLv(ctx, host, old, moved);
    // Extents of another VG may round the new LV up: its tail is not covered by the copy.
    if (dstSys.zeroOnCreate && made.sizeBytes > sizeBytes)
      await wipe(ctx, host, moved, { offsetBytes: sizeBytes, lengthBytes: made.sizeBytes - sizeBytes });
  }
  await linkDisk(host.runner, src as DiskLocation, devicePath(moved));
}

async function removeOldLv(
  ctx: ActionContext,
  host: Host,
  old: LvRef,
  vmId: number,
  srcSys: DatastoreStorage,
): Promise<void> {
  const lv = await host.lvm.findLv(old.vg, old.lv);
  if (!lv) return;
  if (lv.pool) await removeThinDisk(ctx, host, old, vmId, srcSys.zeroOnDelete);
  else await destroyVmLv(ctx, host, old, srcSys.zeroOnDelete);
}

/**
 * The directory line of a datastore change: the VM directory (deployment files, checkpoint,
 * context ISO, the re-pointed links) renamed to its new path on GFS2. Done already (a retry) is
 * success; an existing non-empty destination is refused by `mv -T`. A new system datastore's
 * directory is created first when missing (`ensureDatastoreDir`: only right under the GFS2 mount).
 */
async function moveVmDir(ctx: ActionContext, src: HostVmDir, dst: HostVmDir, vmId: number): Promise<void> {
  const onFe = (h: string) => isFrontEnd(h, ctx.config);
  const name = !onFe(dst.host)
    ? dst.host
    : !onFe(src.host)
      ? src.host
      : (await workHostFor(ctx, dst.host, await datastoreStorage(ctx, dst.dsId), vmId)).name;
  const host = ctx.hosts.get(name);
  const rename = () =>
    host.runner.run(['mv', '-T', '--', src.vmDir, dst.vmDir], { reject: false, timeoutMs: 120_000 });
  let moved = await rename();
  if (moved.exitCode !== 0 && /No such file or directory/.test(moved.stderr)) {
    // The first VM in this system datastore: its directory is created as OpenNebula's drivers do,
    // only where DATASTORE_LOCATION is the GFS2 mount (else the "GFS2 not mounted?" refusal).
    await ensureDatastoreDir(host.runner, dst);
    moved = await rename();
  }
  if (moved.exitCode === 0) {
    ctx.log.info(`${src.vmDir} renamed to ${dst.vmDir} on ${host.name}`);
    return;
  }
  const done = await host.runner.run(
    ['sh', '-c', '[ ! -e "$1" ] && [ -d "$2" ]', 'mv', src.vmDir, dst.vmDir],
    {
      reject: false,
      timeoutMs: 60_000,
    },
  );
  if (done.exitCode === 0) return;
  throw hostCommandFailed(host, `mv ${src.vmDir} ${dst.vmDir}`, moved.exitCode, moved.stderr);
}
