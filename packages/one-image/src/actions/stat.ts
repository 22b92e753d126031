import { storageFor } from '@one-gfs2clvm/driver-runtime';
import { type LvRef, parseSource, vmDiskLvName } from '@one-gfs2clvm/lvm';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { type DsContext, type DsRequest, datastoreStorage, workHost } from '../context.js';
import { DsError } from '../errors.js';
import { checkFrontEndFile, checkHostFile, probe } from '../file-import.js';
import { MiB } from '../image-lv.js';
import { parseImageSource } from '../source.js';
import { parseAllowNets } from '../url-policy.js';
import { probeUrl } from '../url-probe.js';

/**
 * `stat <request id>`: the size in MiB an import of PATH will need — the virtual size of a disk
 * image (probed with qemu-img where the file is; for a URL on the front-end from the image's head
 * and tail, fetched through the checked connection: `url-probe.ts`), the LV size for `lvm://` and
 * `vol://`. `cp` probes what it imports again and refuses more than this answer.
 */
export async function stat(ctx: DsContext, request: DsRequest): Promise<void> {
  const { image, datastore } = request.data;
  const storage = datastoreStorage(ctx, datastore);
  const source = parseImageSource(image.path, { datastoreLocation: ctx.config.datastoreLocation });
  let bytes: number;
  switch (source.kind) {
    case 'url': {
      const allow = parseAllowNets(storage.urlAllowNets);
      bytes = (await probeUrl(source.url, { action: 'stat', allow, log: (line) => ctx.log.info(line) }))
        .virtualSize;
      break;
    }
    case 'frontend-file': {
      const real = await checkFrontEndFile(ctx, source.path, datastore);
      const local = new LocalRunner();
      try {
        bytes = (await probe(local, real)).virtualSize;
      } finally {
        await local.close();
      }
      break;
    }
    case 'host-path': {
      const host = ctx.hosts.get(await workHost(ctx, storage, request.id));
      bytes = (await probe(host.runner, await checkHostFile(ctx, host, source.path, datastore))).virtualSize;
      break;
    }
    case 'vm-disk': {
      const vm = await ctx.one.vm(source.vmId);
      const disk = vm.disks.find((d) => d.id === source.diskId);
      if (!disk) throw new DsError('NOT_FOUND', `stat lvm://${source.vmId}/${source.diskId}: no such disk`);
      let ref: LvRef;
      if (disk.persistent || disk.type === 'CDROM') ref = parseSource(disk.source);
      else {
        const sysId = vm.systemDsId ?? -1;
        const sys = await ctx.one.datastore(sysId);
        ref = {
          vg: storageFor(ctx.config, sys.template).vgName || `vg-one-${sys.id}`,
          lv: vmDiskLvName(vm.id, disk.id),
        };
      }
      bytes = await lvSize(ctx, storage, ref, request.id);
      break;
    }
    case 'image': {
      const src = await ctx.one.image(source.imageId);
      if (src.source === '') throw new DsError('NOT_FOUND', `stat vol://${src.id}: image has no SOURCE`);
      bytes = await lvSize(ctx, storage, parseSource(src.source), request.id);
      break;
    }
  }
  ctx.stdout.write(`${Math.max(1, Math.ceil(bytes / MiB))}\n`);
}

async function lvSize(
  ctx: DsContext,
  storage: ReturnType<typeof datastoreStorage>,
  ref: LvRef,
  seed: number,
): Promise<number> {
  const host = ctx.hosts.get(await workHost(ctx, storage, seed));
  return (await host.lvm.getLv(ref.vg, ref.lv)).sizeBytes;
}
