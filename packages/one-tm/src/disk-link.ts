import type { ActionContext, Host } from '@one-gfs2clvm/driver-runtime';
import { type DiskEntry, readDiskLink } from '@one-gfs2clvm/gfs2';
import type { LvRef } from '@one-gfs2clvm/lvm';
import { linkTarget } from './actions/delete.js';
import type { HostDisk } from './args.js';
import { type DatastoreStorage, workHostFor } from './context.js';

/** A VM disk's link as read on the host that works for it. */
export interface LinkedDisk {
  host: Host;
  /** Whether the line's host is the front-end (the VM runs nowhere, `host` was chosen for the work). */
  onFrontEnd: boolean;
  entry: DiskEntry;
  /** The LV `disk.N` points to; `null` when it is not a link to an LV (`entry` says what it is). */
  target: LvRef | null;
}

/** Reads `disk.N` of VM `vmId` on its work host (the line's host, or one chosen for the front-end). */
export async function readLinkedDisk(
  ctx: ActionContext,
  disk: HostDisk,
  sys: DatastoreStorage,
  vmId: number,
): Promise<LinkedDisk> {
  const work = await workHostFor(ctx, disk.host, sys, vmId);
  const host = ctx.hosts.get(work.name);
  const entry = await readDiskLink(host.runner, disk);
  return {
    host,
    onFrontEnd: work.onFrontEnd,
    entry,
    target: entry.type === 'symlink' ? linkTarget(entry.target) : null,
  };
}
