import {
  type ActionContext,
  type OneImageClient,
  pickWorkHost,
  type StorageSettings,
  storageFor,
} from '@one-gfs2clvm/driver-runtime';
import type { DatastoreData, DsActionData } from './action-data.js';

/**
 * Everything a DS action needs; built once per process by the dispatcher. It is the runtime's
 * ActionContext (so its LV helpers — wipe, copy, destroy — take it as is) with the image/user lookups on top.
 */
export interface DsContext extends ActionContext {
  one: OneImageClient;
}

/** One DS request: the id argument and the decoded payload. */
export interface DsRequest {
  /** The id argument (image id; datastore id for monitor; a request id for stat). */
  id: number;
  data: DsActionData;
}

/** A datastore's VG and storage settings (its template attributes over the driver configuration). */
export interface DatastoreStorage extends StorageSettings {
  dsId: number;
  vg: string;
  clusterIds: number[];
}

export function datastoreStorage(ctx: DsContext, ds: DatastoreData): DatastoreStorage {
  const storage = storageFor(ctx.config, ds.template);
  return { ...storage, dsId: ds.id, vg: storage.vgName || `vg-one-${ds.id}`, clusterIds: ds.clusterIds };
}

/** A host that sees the VG: BRIDGE_LIST, else a usable host of the datastore's clusters. */
export function workHost(ctx: DsContext, storage: DatastoreStorage, seed: number): Promise<string> {
  return pickWorkHost(ctx.one, storage, storage.clusterIds, seed, ctx.config);
}
