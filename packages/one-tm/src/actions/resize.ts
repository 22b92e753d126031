import { type ActionContext, DriverError, parseSizeMiB, rollback, wipe } from '@one-gfs2clvm/driver-runtime';
import { openDiskLine } from '../disk-link.js';
import { deactivatePoolIfIdle, ensurePoolRoom } from '../thin.js';

const MiB = 2 ** 20;

/**
 * `resize host:<vm dir>/disk.<n> <size MiB> <vm id> <ds id>`: lvextend (never shrink), zero the
 * added range (ZERO_ON_CREATE), re-read the real size. Run where the LV is active (the VM's host);
 * for a VM on no host, on a work host with a temporary activation.
 */
export async function resize(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const line = await openDiskLine(
    ctx,
    argv,
    'host:<ds dir>/<vm>/disk.<n> <size MiB> <vm id> <ds id>',
    parseSizeMiB,
  );
  const { location: disk, arg: sizeMiB, sys, host, entry, target } = line;
  if (!target) throw new DriverError('NOT_FOUND', `resize ${disk.path}: not a link to an LV (${entry.type})`);
  const lv = await host.lvm.getLv(target.vg, target.lv);
  const wanted = sizeMiB * MiB;
  if (wanted < lv.sizeBytes)
    throw new DriverError(
      'UNSUPPORTED',
      `resize ${target.lv} to ${sizeMiB} MiB: shrinking refused (now ${lv.sizeBytes / MiB} MiB)`,
    );
  if (wanted === lv.sizeBytes) return;
  const temporary = !lv.active;
  if (temporary) await host.lvm.activateLv(target.vg, target.lv, 'exclusive');
  try {
    // Thin: the pool first grows by the added size (it never overcommits); the new range reads as zeros.
    if (lv.pool) await ensurePoolRoom(ctx, host, target.vg, lv.pool, wanted - lv.sizeBytes);
    const grown = await host.lvm.extendLv(target.vg, target.lv, wanted);
    ctx.log.info(`${target.lv}: ${lv.sizeBytes / MiB} MiB to ${grown.sizeBytes / MiB} MiB on ${host.name}`);
    if (sys.zeroOnCreate && !lv.pool)
      await wipe(ctx, host, target, {
        offsetBytes: lv.sizeBytes,
        lengthBytes: grown.sizeBytes - lv.sizeBytes,
      });
  } finally {
    if (temporary)
      await rollback(ctx, [
        ...(lv.pool ? [() => deactivatePoolIfIdle(host, target.vg, lv.pool as string)] : []),
        () => host.lvm.ensureInactive(target.vg, target.lv),
      ]);
  }
}
