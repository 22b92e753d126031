import {
  type ActionContext,
  DriverError,
  expectArgs,
  type Host,
  parseIdArg,
} from '@one-gfs2clvm/driver-runtime';
import { type DiskEntry, readDiskLink, type VmDirLocation } from '@one-gfs2clvm/gfs2';
import type { LvRef } from '@one-gfs2clvm/lvm';
import { linkTarget } from './actions/delete.js';
import { type HostDisk, parseHostDisk, parseVmIdArg } from './args.js';
import { type DatastoreStorage, datastoreStorage, workHostFor } from './context.js';

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

/** An action line on one VM disk, checked, with that disk's link read. */
export interface DiskLine<Arg> extends LinkedDisk {
  location: HostDisk;
  /** The action's own second argument (size, image source, snapshot id). */
  arg: Arg;
  vmId: number;
  sys: DatastoreStorage;
}

/**
 * The line `host:<vm dir>/disk.<n> <arg> <vm id> <ds id>` of resize, mvds and the snapshot actions:
 * each argument checked in that order (`parseArg` checks the second), then the disk's link read on
 * its work host.
 */
export async function openDiskLine<Arg>(
  ctx: ActionContext,
  argv: readonly string[],
  usage: string,
  parseArg: (arg: string) => Arg,
): Promise<DiskLine<Arg>> {
  expectArgs(ctx.action, argv, [4], usage);
  const location = parseHostDisk(argv[0] as string, ctx.config.datastoreLocation);
  const arg = parseArg(argv[1] as string);
  const vmId = parseVmIdArg(argv[2] as string, location);
  parseIdArg(argv[3] as string, 'datastore id');
  const sys = await datastoreStorage(ctx, location.dsId);
  return { location, arg, vmId, sys, ...(await readLinkedDisk(ctx, location, sys, vmId)) };
}

/** `disk.<n>` symlinks of a VM directory: `find -printf '%f\t%y\t%l\n'`. */
export async function listDiskLinks(
  host: Host,
  vmDir: VmDirLocation,
): Promise<Array<{ diskId: number; target: string }>> {
  const result = await host.runner.run(
    [
      'find',
      vmDir.vmDir,
      '-mindepth',
      '1',
      '-maxdepth',
      '1',
      '-name',
      'disk.*',
      '-printf',
      '%f\\t%y\\t%l\\n',
    ],
    { reject: false, timeoutMs: 60_000 },
  );
  if (result.exitCode !== 0)
    throw new DriverError(
      'EXEC',
      `list ${vmDir.vmDir} on ${host.name}: ${result.stderr.trim().split('\n').pop() ?? ''}`,
    );
  const links: Array<{ diskId: number; target: string }> = [];
  for (const line of result.stdout.split('\n')) {
    const [name = '', type, target = ''] = line.split('\t');
    const m = /^disk\.(0|[1-9][0-9]{0,9})$/.exec(name);
    if (m && type === 'l') links.push({ diskId: Number(m[1]), target });
  }
  return links;
}
