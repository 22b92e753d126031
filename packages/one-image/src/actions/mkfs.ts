import { hostCommandFailed, mkfsArgv, wipe } from '@one-gfs2clvm/driver-runtime';
import { devicePath } from '@one-gfs2clvm/lvm';
import { type DsContext, type DsRequest, datastoreStorage, workHost } from '../context.js';
import { DsError } from '../errors.js';
import { checkImageId, createImageLv, imageRef, MiB } from '../image-lv.js';

/**
 * `mkfs <image id>`: a new empty datablock LV of SIZE MiB (zeroed when ZERO_ON_CREATE, optional
 * file system FS); FORMAT `save_as` (disk-saveas) only reserves the name — the TM `cpds` makes it.
 * Prints `<vg>/<lv>`.
 */
export async function mkfs(ctx: DsContext, request: DsRequest): Promise<void> {
  const image = checkImageId(request, 'mkfs');
  const storage = datastoreStorage(ctx, request.data.datastore);
  const target = imageRef(storage, image.id);
  if (image.format !== 'save_as') {
    if (image.format !== '' && image.format !== 'raw')
      throw new DsError(
        'UNSUPPORTED',
        `mkfs: FORMAT ${JSON.stringify(image.format.slice(0, 20))} not supported (gfs2clvm images are raw)`,
      );
    if (!Number.isSafeInteger(image.sizeMiB) || image.sizeMiB <= 0)
      throw new DsError('INVALID_ARGUMENT', `mkfs: SIZE ${image.sizeMiB} is not a positive number of MiB`);
    const fs = image.fs.trim();
    if (fs !== '' && !ctx.config.supportedFs.includes(fs))
      throw new DsError(
        'UNSUPPORTED',
        `mkfs: FS ${JSON.stringify(fs.slice(0, 20))} not supported (${ctx.config.supportedFs.join(', ')})`,
      );
    const host = ctx.hosts.get(await workHost(ctx, storage, image.id));
    await createImageLv(ctx, host, storage, target, image.sizeMiB * MiB, async () => {
      if (storage.zeroOnCreate) await wipe(ctx, host, target);
      if (fs !== '') {
        const argv = mkfsArgv(fs, devicePath(target));
        const result = await host.data.run(argv, { reject: false, timeoutMs: 3600_000 });
        if (result.exitCode !== 0)
          throw hostCommandFailed(host, `mkfs -t ${fs}`, result.exitCode, result.stderr);
      }
    });
  }
  ctx.stdout.write(`${target.vg}/${target.lv}\n`);
}
