import { type LvRef, parseSource } from '@one-gfs2clvm/lvm';
import { type DsContext, type DsRequest, datastoreStorage, workHost } from '../context.js';
import { DsError } from '../errors.js';
import { checkImageId, copyLvIntoImage, imageRef } from '../image-lv.js';

/**
 * `clone <new image id>`: copies the source image's LV (PATH is its SOURCE; else CLONING_ID is
 * looked up) into `lv-oneimg-<new id>`. Prints `<vg>/<lv> raw`.
 */
export async function clone(ctx: DsContext, request: DsRequest): Promise<void> {
  const image = checkImageId(request, 'clone');
  const storage = datastoreStorage(ctx, request.data.datastore);
  const target = imageRef(storage, image.id);
  let from: LvRef;
  let persistent = false;
  if (image.cloningId !== undefined && image.cloningId >= 0) {
    const src = await ctx.one.image(image.cloningId);
    persistent = src.persistent;
    from = parseSource((image.path.trim() || src.source).trim());
  } else if (image.path.trim() !== '') {
    from = parseSource(image.path.trim());
  } else {
    throw new DsError('INVALID_ARGUMENT', `clone: image ${image.id} names no source (PATH, CLONING_ID)`);
  }
  if (from.vg === target.vg && from.lv === target.lv)
    throw new DsError('INVALID_ARGUMENT', `clone: ${from.vg}/${from.lv} cannot be cloned into itself`);
  const host = ctx.hosts.get(await workHost(ctx, storage, image.id));
  await copyLvIntoImage(ctx, host, storage, from, persistent ? 'exclusive' : 'shared', target);
  ctx.stdout.write(`${target.vg}/${target.lv} raw\n`);
}
