import {
  type ActionContext,
  isFrontEnd,
  pickWorkHost,
  type StorageSettings,
  storageFor,
} from '@one-gfs2clvm/driver-runtime';

/** A datastore's VG and storage settings (template attributes over the configuration). */
export interface DatastoreStorage extends StorageSettings {
  dsId: number;
  vg: string;
  clusterIds: number[];
}

export async function datastoreStorage(ctx: ActionContext, dsId: number): Promise<DatastoreStorage> {
  const ds = await ctx.one.datastore(dsId);
  const storage = storageFor(ctx.config, ds.template);
  return { ...storage, dsId, vg: storage.vgName || `vg-one-${dsId}`, clusterIds: ds.clusterIds };
}

/**
 * The host that does the work for a transfer-line host: itself when it is a hypervisor; when it is
 * the front-end (VM undeployed/stopped), a host chosen from the datastore's BRIDGE_LIST or cluster.
 */
export async function workHostFor(
  ctx: ActionContext,
  lineHost: string,
  storage: DatastoreStorage,
  seed: number,
): Promise<{ name: string; onFrontEnd: boolean }> {
  if (!isFrontEnd(lineHost, ctx.config)) return { name: lineHost, onFrontEnd: false };
  const name = await pickWorkHost(ctx.one, storage, storage.clusterIds, seed, ctx.config);
  ctx.log.info(`${lineHost} is the front-end: LV work runs on ${name}`);
  return { name, onFrontEnd: true };
}
