import { destroyVmLv } from '@one-gfs2clvm/driver-runtime';
import { imageLvName, parseSource } from '@one-gfs2clvm/lvm';
import { type DsContext, type DsRequest, datastoreStorage, workHost } from '../context.js';
import { DsError } from '../errors.js';
import { checkImageId } from '../image-lv.js';

/**
 * `rm <image id>`: wipes (ZERO_ON_DELETE) and removes the image LV named by SOURCE. A missing LV,
 * or no SOURCE at all (a cp that failed), is success. SOURCE must name this image's own LV: an
 * image whose SOURCE was edited to point at a VM disk must not take that disk with it.
 */
export async function rm(ctx: DsContext, request: DsRequest): Promise<void> {
  const image = checkImageId(request, 'rm');
  if (image.source.trim() === '') {
    ctx.log.info(`image ${image.id} has no SOURCE: nothing to remove`);
    return;
  }
  const ref = parseSource(image.source.trim());
  if (ref.lv !== imageLvName(image.id))
    throw new DsError(
      'INVALID_ARGUMENT',
      `rm: SOURCE ${image.source.slice(0, 80)} is not the LV of image ${image.id}`,
    );
  const storage = datastoreStorage(ctx, request.data.datastore);
  const host = ctx.hosts.get(await workHost(ctx, storage, image.id));
  if (!(await destroyVmLv(ctx, host, ref, storage.zeroOnDelete)))
    ctx.log.info(`${ref.vg}/${ref.lv} does not exist: nothing to remove`);
}
