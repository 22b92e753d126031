import {
  copyLv,
  destroyVmLv,
  type Host,
  rollback,
  underLease,
  withLease,
} from '@one-gfs2clvm/driver-runtime';
import { imageLvName, type Lv, LvmError, type LvRef } from '@one-gfs2clvm/lvm';
import type { ImageData } from './action-data.js';
import type { DatastoreStorage, DsContext, DsRequest } from './context.js';
import { DsError } from './errors.js';

export const MiB = 2 ** 20;

/** The LV of an image: `lv-oneimg-<id>` in the datastore's VG. */
export function imageRef(storage: DatastoreStorage, imageId: number): LvRef {
  return { vg: storage.vg, lv: imageLvName(imageId) };
}

/** The id argument of an image action must be the payload's image. */
export function checkImageId(request: DsRequest, action: string): ImageData {
  const image = request.data.image;
  if (image.id !== request.id)
    throw new DsError('INVALID_ARGUMENT', `${action} ${request.id}: the payload is image ${image.id}`);
  return image;
}

export function roundUpMiB(bytes: number): number {
  return Math.ceil(bytes / MiB) * MiB;
}

/**
 * Creates the image LV (active exclusively on `host`), runs `fill` with it as lvcreate left it
 * (size rounded to extents, active) and leaves the LV inactive. A tag `fill` returns (the image's
 * allocation map, `@one-gfs2clvm/driver-runtime` alloc-map.ts) is added by the same `lvchange` that
 * deactivates the LV, so the map appears only on an image whose every block was written. The image is not READY in oned
 * until this succeeds, so an LV of that name is a leftover of an interrupted run: it is removed
 * first. On failure the new LV is removed again (wiped when ZERO_ON_DELETE): a failed action
 * leaves no LV.
 *
 * Host commands on success: `vgs` (the library learns the VG's lock mode), `lvcreate` and the
 * library's read-back, `fill`, one `lvchange -an` (with the map's `--addtag`). The leftover check is lvcreate's own refusal
 * (`ALREADY_EXISTS`), not a read before it.
 */
export async function createImageLv(
  ctx: DsContext,
  host: Host,
  storage: DatastoreStorage,
  target: LvRef,
  sizeBytes: number,
  // biome-ignore lint/suspicious/noConfusingVoidType: fillers that return nothing (a Promise<void> of copyLv) are as welcome as those returning the map's tag
  fill: (lv: Lv) => Promise<string | undefined | void>,
): Promise<void> {
  const create = () => host.lvm.createLv({ vg: target.vg, lv: target.lv, sizeBytes });
  const undo: Array<() => Promise<unknown>> = [];
  try {
    const lv = await create().catch(async (error: unknown) => {
      if (!LvmError.hasCode(error, 'ALREADY_EXISTS')) throw error;
      ctx.log.info(`${target.vg}/${target.lv} exists (interrupted earlier run?): replacing it`);
      await destroyVmLv(ctx, host, target, storage.zeroOnDelete);
      return create();
    });
    undo.push(() => destroyVmLv(ctx, host, target, storage.zeroOnDelete));
    const tag = await fill(lv);
    // Created active here a moment ago: deactivated without reading it again.
    await host.lvm.deactivateLv(target.vg, target.lv, tag ? { addTag: tag } : {});
    ctx.log.info(`created ${target.vg}/${target.lv} (${sizeBytes / MiB} MiB) on ${host.name}`);
  } catch (error) {
    await rollback(ctx, undo);
    throw error;
  }
}

/**
 * Copies the LV `from` into a new image LV of the same size on `host`. `from` is activated there in
 * `mode` under driver-runtime's front-end lease (image-lease.ts), shared with every other action that reads
 * it on that host at the same time (TM clones of the same image, other DS copies): the last of
 * them deactivates it again, unless a VM of that host has it (its host tag, or open there).
 */
export async function copyLvIntoImage(
  ctx: DsContext,
  host: Host,
  storage: DatastoreStorage,
  from: LvRef,
  mode: 'exclusive' | 'shared',
  target: LvRef,
): Promise<void> {
  const source = await host.lvm.findLv(from.vg, from.lv);
  if (!source) throw new DsError('NOT_FOUND', `source LV ${from.vg}/${from.lv} does not exist`);
  const copy = () =>
    createImageLv(ctx, host, storage, target, source.sizeBytes, () => copyLv(ctx, host, from, target));
  // Active here already and to be read exclusively: a VM's (the disk of a suspended VM, `lvm://`)
  // or another copy's: read under the lease (so no release deactivates it meanwhile), but neither
  // activated nor released by this copy.
  if (mode === 'exclusive' && source.active === true) return underLease(ctx, host, from, copy);
  await withLease(ctx, host, from, mode, source, copy);
}
