import { asInvalidArgument, DriverError, parseIdArg } from '@one-gfs2clvm/driver-runtime';
import {
  type DiskLocation,
  parseTmArgument,
  parseVmDirPath,
  type VmDirLocation,
  type VmLocation,
} from '@one-gfs2clvm/gfs2';

export type HostDisk = DiskLocation & { host: string };
export type HostVmDir = VmDirLocation & { host: string };
export type HostLocation = VmLocation & { host: string };

/** A TM `host:path` argument under the datastore location (protocol §2.2). */
export function parseLocation(arg: string, datastoreLocation: string): HostLocation {
  return asInvalidArgument(() => parseTmArgument(arg, { datastoreLocation }));
}

export function parseHostDisk(arg: string, datastoreLocation: string): HostDisk {
  const location = parseLocation(arg, datastoreLocation);
  if (location.kind !== 'disk')
    throw new DriverError('INVALID_ARGUMENT', `${location.path} is not a <vm dir>/disk.<n>`);
  return location;
}

export function parseHostVmDir(arg: string, datastoreLocation: string): HostVmDir {
  const location = parseLocation(arg, datastoreLocation);
  if (location.kind !== 'vmdir')
    throw new DriverError('INVALID_ARGUMENT', `${location.path} is not a VM directory`);
  return location;
}

/** A plain VM directory path (pre/post/failmigrate pass it without `host:`). */
export function parsePlainVmDir(arg: string, datastoreLocation: string): VmDirLocation {
  return asInvalidArgument(() => parseVmDirPath(arg, { datastoreLocation }));
}

/** The VM id argument must name the VM whose directory the path is in. */
export function parseVmIdArg(arg: string, location: { vmId: number; path: string }): number {
  const vmId = parseIdArg(arg, 'VM id');
  if (vmId !== location.vmId)
    throw new DriverError('INVALID_ARGUMENT', `VM id ${vmId} does not match the path ${location.path}`);
  return vmId;
}
