import { type DsContext, type DsRequest, datastoreStorage, workHost } from '../context.js';
import { DsError } from '../errors.js';
import { MiB } from '../image-lv.js';

/** `monitor <ds id>`: VG usage, `USED_MB=…`, `FREE_MB=…`, `TOTAL_MB=…` one per line. */
export async function monitor(ctx: DsContext, request: DsRequest): Promise<void> {
  const ds = request.data.datastore;
  if (ds.id !== request.id)
    throw new DsError('INVALID_ARGUMENT', `monitor ${request.id}: the payload is datastore ${ds.id}`);
  const storage = datastoreStorage(ctx, ds);
  const host = ctx.hosts.get(await workHost(ctx, storage, ds.id));
  const vg = await host.lvm.getVg(storage.vg);
  const total = Math.floor(vg.sizeBytes / MiB);
  const free = Math.floor(vg.freeBytes / MiB);
  ctx.stdout.write(`USED_MB=${total - free}\nFREE_MB=${free}\nTOTAL_MB=${total}\n`);
}
