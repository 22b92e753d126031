import {
  type DiskLocation,
  Gfs2Error,
  parseId,
  parseTmArgument,
  parseVmDirPath,
  type VmDirLocation,
  type VmLocation,
  validateHostName,
} from '@one-gfs2clvm/gfs2';
import { type LvRef, parseSource } from '@one-gfs2clvm/lvm';
import { TmError } from './errors.js';

/** Largest size oned can ask for, in MiB (keeps byte sizes exact integers). */
export const MAX_SIZE_MIB = 2 ** 32;

export type HostDisk = DiskLocation & { host: string };
export type HostVmDir = VmDirLocation & { host: string };
export type HostLocation = VmLocation & { host: string };

/** Refuses a wrong argument count with the action's usage (the argv oned sends, protocol §2.2). */
export function expectArgs(
  action: string,
  argv: readonly string[],
  counts: readonly number[],
  usage: string,
): void {
  if (!counts.includes(argv.length)) {
    throw new TmError(
      'USAGE',
      `${action}: expected ${counts.join(' or ')} arguments, got ${argv.length}: ${usage}`,
    );
  }
}

function wrap<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (Gfs2Error.isInstance(error)) throw new TmError('INVALID_ARGUMENT', error.message, { cause: error });
    throw error;
  }
}

export function parseLocation(arg: string, datastoreLocation: string): HostLocation {
  return wrap(() => parseTmArgument(arg, { datastoreLocation }));
}

export function parseHostDisk(arg: string, datastoreLocation: string): HostDisk {
  const location = parseLocation(arg, datastoreLocation);
  if (location.kind !== 'disk')
    throw new TmError('INVALID_ARGUMENT', `${location.path} is not a <vm dir>/disk.<n>`);
  return location;
}

export function parseHostVmDir(arg: string, datastoreLocation: string): HostVmDir {
  const location = parseLocation(arg, datastoreLocation);
  if (location.kind !== 'vmdir')
    throw new TmError('INVALID_ARGUMENT', `${location.path} is not a VM directory`);
  return location;
}

/** A plain VM directory path (pre/post/failmigrate pass it without `host:`). */
export function parsePlainVmDir(arg: string, datastoreLocation: string): VmDirLocation {
  return wrap(() => parseVmDirPath(arg, { datastoreLocation }));
}

export function parseHost(arg: string): string {
  return wrap(() => validateHostName(arg));
}

export function parseIdArg(arg: string, what: string): number {
  return wrap(() => parseId(arg, what));
}

/** The VM id argument must name the VM whose directory the path is in. */
export function parseVmIdArg(arg: string, location: { vmId: number; path: string }): number {
  const vmId = parseIdArg(arg, 'VM id');
  if (vmId !== location.vmId)
    throw new TmError('INVALID_ARGUMENT', `VM id ${vmId} does not match the path ${location.path}`);
  return vmId;
}

export function parseSizeMiB(arg: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(arg) || Number(arg) > MAX_SIZE_MIB)
    throw new TmError('INVALID_ARGUMENT', `size ${JSON.stringify(arg.slice(0, 40))} is not a size in MiB`);
  return Number(arg);
}

/**
 * An image SOURCE as gfs2clvm image datastores write it, `<vg>/<lv>`, optionally behind oned's
 * `host:` prefix (clone/ln give `fe:<source>`).
 */
export function parseImageSource(arg: string): LvRef {
  const colon = arg.indexOf(':');
  const source = colon >= 0 && !arg.startsWith('/') ? arg.slice(colon + 1) : arg;
  try {
    return parseSource(source);
  } catch (error) {
    throw new TmError(
      'INVALID_ARGUMENT',
      `image source ${JSON.stringify(arg.slice(0, 60))} is not <vg>/<lv> of a gfs2clvm image datastore`,
      { cause: error },
    );
  }
}
