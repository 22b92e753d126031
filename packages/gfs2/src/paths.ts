import { Gfs2Error } from './errors.js';
import { show } from './show.js';

/** OpenNebula's default `DATASTORE_LOCATION`, where the system datastores live on every host. */
export const DEFAULT_DATASTORE_LOCATION = '/var/lib/one/datastores';

/** OpenNebula ids (datastore, VM, disk) are C `int`s in oned. */
export const MAX_ID = 2_147_483_647;

const PATH_MAX = 4096;
const NAME_MAX = 255;

/**
 * A host name as OpenNebula knows it (the `host` of `host:path`): DNS labels of letters, digits,
 * `-` and `_`, no label starting or ending with `-`. A leading `-` would reach `ssh` as an option.
 */
const HOST_LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOST_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

/** Decimal, no sign, no leading zero (`07` and `7` would name different directories). */
const ID = /^(?:0|[1-9][0-9]{0,9})$/;
const DISK_NAME = /^disk\.([0-9]+)$/;

export interface HostPath {
  host: string;
  /** Normalised absolute path (see `normalizeAbsolutePath`). */
  path: string;
}

/** `<DATASTORE_LOCATION>/<ds id>/<vm id>`: a VM directory. */
export interface VmDirLocation {
  kind: 'vmdir';
  datastoreLocation: string;
  dsId: number;
  vmId: number;
  /** `<DATASTORE_LOCATION>/<ds id>` */
  dsDir: string;
  /** `<DATASTORE_LOCATION>/<ds id>/<vm id>` */
  vmDir: string;
  /** The normalised path that was parsed (here `vmDir`). */
  path: string;
}

/** `<DATASTORE_LOCATION>/<ds id>/<vm id>/disk.<disk id>`: a VM disk (symlink or context ISO). */
export interface DiskLocation extends Omit<VmDirLocation, 'kind'> {
  kind: 'disk';
  diskId: number;
  /** `<vmDir>/disk.<disk id>` (also in `path`). */
  diskPath: string;
}

export type VmLocation = VmDirLocation | DiskLocation;

export interface LocationOptions {
  /** Defaults to `/var/lib/one/datastores`; normalised before use. */
  datastoreLocation?: string;
}

/**
 * Validates an absolute path and returns it normalised: `//` collapsed, trailing `/` dropped.
 * Refuses relative paths, `.` and `..` components, control characters (NUL, newline …) and
 * lengths beyond PATH_MAX / NAME_MAX. `what` names the value in the error.
 */
export function normalizeAbsolutePath(path: string, what = 'path'): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new Gfs2Error('INVALID_PATH', `${what} is empty`);
  }
  if (path.length > PATH_MAX) {
    throw new Gfs2Error('INVALID_PATH', `${what} ${show(path)} is longer than ${PATH_MAX} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) {
    throw new Gfs2Error('INVALID_PATH', `${what} ${show(path)} contains a control character`);
  }
  if (!path.startsWith('/')) {
    throw new Gfs2Error('INVALID_PATH', `${what} ${show(path)} is not absolute`);
  }
  const parts = path.split('/').filter((part) => part !== '');
  for (const part of parts) {
    if (part === '.' || part === '..') {
      throw new Gfs2Error('INVALID_PATH', `${what} ${show(path)} has a "${part}" component`);
    }
    if (part.length > NAME_MAX) {
      throw new Gfs2Error(
        'INVALID_PATH',
        `${what} ${show(path)} has a component over ${NAME_MAX} characters`,
      );
    }
  }
  return `/${parts.join('/')}`;
}

/** `path` is `dir` or lies below it, compared by whole components (`/a/bc` is not under `/a/b`). */
export function isUnder(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/** Validates an OpenNebula host name (see `HOST_NAME`) and returns it. */
export function validateHostName(host: string): string {
  if (typeof host !== 'string' || host.length === 0 || host.length > 253 || !HOST_NAME.test(host)) {
    throw new Gfs2Error('INVALID_PATH', `host name ${show(String(host))} is not valid`);
  }
  return host;
}

/** Parses an OpenNebula id: decimal digits, no sign, no leading zero, at most `MAX_ID`. */
export function parseId(text: string, what: string): number {
  const value = ID.test(text) ? Number(text) : Number.NaN;
  if (!(value <= MAX_ID)) {
    throw new Gfs2Error('INVALID_PATH', `${what} ${show(text)} is not an id (0…${MAX_ID})`);
  }
  return value;
}

/**
 * Splits a TM argument `host:path` at the first `:` (as OpenNebula's own scripts do), validates
 * the host name and normalises the path.
 */
export function splitHostPath(argument: string): HostPath {
  if (typeof argument !== 'string') {
    throw new Gfs2Error('INVALID_PATH', 'argument is not a string');
  }
  const colon = argument.indexOf(':');
  if (colon < 0) {
    throw new Gfs2Error('INVALID_PATH', `argument ${show(argument)} is not host:path`);
  }
  const host = validateHostName(argument.slice(0, colon));
  const path = normalizeAbsolutePath(argument.slice(colon + 1));
  return { host, path };
}

/**
 * Derives datastore, VM and disk ids from a path `<DATASTORE_LOCATION>/<ds>/<vm>` or
 * `<DATASTORE_LOCATION>/<ds>/<vm>/disk.<n>`. Anything else, and anything outside
 * `<DATASTORE_LOCATION>/<ds id>/`, is refused.
 */
export function parseVmPath(path: string, options: LocationOptions = {}): VmLocation {
  const datastoreLocation = normalizeAbsolutePath(
    options.datastoreLocation ?? DEFAULT_DATASTORE_LOCATION,
    'DATASTORE_LOCATION',
  );
  const normalized = normalizeAbsolutePath(path);
  const prefix = datastoreLocation === '/' ? '/' : `${datastoreLocation}/`;
  if (!normalized.startsWith(prefix)) {
    throw new Gfs2Error('OUTSIDE_DATASTORE', `path ${show(normalized)} is outside ${datastoreLocation}`, {
      path: normalized,
    });
  }
  const rest = normalized.slice(prefix.length).split('/');
  if (rest.length !== 2 && rest.length !== 3) {
    throw new Gfs2Error(
      'OUTSIDE_DATASTORE',
      `path ${show(normalized)} is not ${datastoreLocation}/<ds>/<vm>[/disk.<n>]`,
      { path: normalized },
    );
  }
  const [dsText = '', vmText = '', diskName] = rest;
  const dsId = parseId(dsText, 'datastore id');
  const vmId = parseId(vmText, 'VM id');
  const vmDir = vmDirLocation(datastoreLocation, dsId, vmId);
  if (diskName === undefined) return vmDir;
  const match = DISK_NAME.exec(diskName);
  if (!match) {
    throw new Gfs2Error(
      'OUTSIDE_DATASTORE',
      `path ${show(normalized)}: only disk.<n> is allowed in a VM dir`,
      {
        path: normalized,
      },
    );
  }
  return diskLocation(vmDir, parseId(match[1] ?? '', 'disk id'));
}

/** Like `parseVmPath`, but the path must be a disk (`…/<ds>/<vm>/disk.<n>`). */
export function parseDiskPath(path: string, options: LocationOptions = {}): DiskLocation {
  const location = parseVmPath(path, options);
  if (location.kind !== 'disk') {
    throw new Gfs2Error('OUTSIDE_DATASTORE', `path ${show(location.path)} is a VM dir, not a disk.<n>`, {
      path: location.path,
    });
  }
  return location;
}

/** Like `parseVmPath`, but the path must be a VM directory (`…/<ds>/<vm>`). */
export function parseVmDirPath(path: string, options: LocationOptions = {}): VmDirLocation {
  const location = parseVmPath(path, options);
  if (location.kind !== 'vmdir') {
    throw new Gfs2Error('OUTSIDE_DATASTORE', `path ${show(location.path)} is a disk, not a VM dir`, {
      path: location.path,
    });
  }
  return location;
}

/** A TM argument `host:<DATASTORE_LOCATION>/<ds>/<vm>[/disk.<n>]`, parsed and validated. */
export function parseTmArgument(
  argument: string,
  options: LocationOptions = {},
): VmLocation & { host: string } {
  const { host, path } = splitHostPath(argument);
  return { host, ...parseVmPath(path, options) };
}

/** The VM directory for ids already known (for example the destination of a `mv`). */
export function vmDirLocation(datastoreLocation: string, dsId: number, vmId: number): VmDirLocation {
  const base = normalizeAbsolutePath(datastoreLocation, 'DATASTORE_LOCATION');
  checkId(dsId, 'datastore id');
  checkId(vmId, 'VM id');
  const dsDir = `${base === '/' ? '' : base}/${dsId}`;
  const vmDir = `${dsDir}/${vmId}`;
  return { kind: 'vmdir', datastoreLocation: base, dsId, vmId, dsDir, vmDir, path: vmDir };
}

/** The disk `disk.<diskId>` inside a VM directory. */
export function diskLocation(vmDir: VmDirLocation | DiskLocation, diskId: number): DiskLocation {
  checkId(diskId, 'disk id');
  const diskPath = `${vmDir.vmDir}/disk.${diskId}`;
  const { datastoreLocation, dsId, vmId, dsDir } = vmDir;
  return {
    kind: 'disk',
    datastoreLocation,
    dsId,
    vmId,
    dsDir,
    vmDir: vmDir.vmDir,
    diskId,
    diskPath,
    path: diskPath,
  };
}

function checkId(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_ID) {
    throw new Gfs2Error('INVALID_PATH', `${what} ${show(String(value))} is not an id (0…${MAX_ID})`);
  }
}

/**
 * Locations are plain objects: every path is derived again from `path` and `datastoreLocation`, so
 * that an object built by hand (or of the wrong kind) cannot steer a command outside the datastore.
 */
export function recheckLocation(location: VmLocation): VmLocation {
  const path = typeof location?.path === 'string' ? location.path : '';
  return parseVmPath(path, { datastoreLocation: location?.datastoreLocation ?? '' });
}
