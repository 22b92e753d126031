import type { Runner } from '@one-gfs2clvm/ssh-remote';
import {
  entryArgv,
  fileTypeArgv,
  findmntArgv,
  findmntTableArgv,
  gfs2SysfsArgv,
  mkdirArgv,
  removeFileArgv,
  removeTreeArgv,
  renameArgv,
  statFsTypeArgv,
  symlinkArgv,
} from './argv.js';
import { type BatchStep, runBatch } from './batch.js';
import { Gfs2Error } from './errors.js';
import { commandFailed, runOnHost } from './exec.js';
import { assertOnGfs2, DEFAULT_CHECK_TIMEOUT_MS } from './gfs2-check.js';
import { GFS2_STATFS_TYPE } from './mounts.js';
import { type DiskLocation, recheckLocation, type VmDirLocation, type VmLocation } from './paths.js';
import { placementToken, temporaryPath } from './place.js';
import { show } from './show.js';

/** LVM's name rules (`[A-Za-z0-9+_.-]`, no leading `-`, not `.`/`..`), for `/dev/<vg>/<lv>`. */
const LVM_NAME = /^(?!-)(?!\.{1,2}$)[A-Za-z0-9+_.-]{1,127}$/;

/** What is at a `disk.N` path, without following it. */
export type DiskEntry =
  | { type: 'missing' }
  | { type: 'symlink'; target: string }
  | { type: 'file' }
  | { type: 'directory' }
  | { type: 'other' };

export interface VmDirOptions {
  /** Limit per command; default `DEFAULT_CHECK_TIMEOUT_MS`. */
  timeoutMs?: number;
}

/** Validates a device path `/dev/<vg>/<lv>` (the only thing a `disk.N` symlink may point to). */
export function validateDevicePath(devicePath: string): string {
  const parts = typeof devicePath === 'string' ? devicePath.split('/') : [];
  const [empty, dev, vg = '', lv = ''] = parts;
  if (parts.length !== 4 || empty !== '' || dev !== 'dev' || !LVM_NAME.test(vg) || !LVM_NAME.test(lv)) {
    throw new Gfs2Error('INVALID_PATH', `device ${show(String(devicePath))} is not /dev/<vg>/<lv>`);
  }
  return devicePath;
}

/**
 * `ensureVmDir` as one remote command (`$1` the datastore dir, `$2` the VM dir): the reads of
 * `assertOnGfs2`, then — only where statfs says GFS2 — the mkdir and the type check. The mount
 * table, withdraw flag and read-only checks are judged by `assertOnGfs2` from the same output
 * before the mkdir's outcome is looked at (a withdrawn or read-only GFS2 refuses the mkdir itself).
 */
export const ENSURE_VM_DIR_STEPS: readonly BatchStep[] = [
  { name: 'statfs', argv: statFsTypeArgv('$1') },
  { name: 'findmnt', argv: findmntArgv('$1') },
  { name: 'table', argv: findmntTableArgv(), when: { step: 'findmnt', ok: false } },
  { name: 'sysfs', argv: gfs2SysfsArgv() },
  { name: 'mkdir', argv: mkdirArgv('$2'), when: { step: 'statfs', stdout: GFS2_STATFS_TYPE } },
  { name: 'type', argv: fileTypeArgv('$2'), when: { step: 'statfs', stdout: GFS2_STATFS_TYPE } },
];

/** `linkDisk` as one remote command: `$1` the device, `$2` the temporary link, `$3` disk.N. */
export const LINK_DISK_STEPS: readonly BatchStep[] = [
  { name: 'link', argv: symlinkArgv('$1', '$2') },
  { name: 'rename', argv: renameArgv('$2', '$3'), when: { step: 'link', ok: true } },
  { name: 'cleanup', argv: removeFileArgv('$2'), when: { step: 'rename', ok: false } },
];

/**
 * `ensureVmDirAndLink` as one remote command: `ENSURE_VM_DIR_STEPS` (`$1` the datastore dir, `$2`
 * the VM dir), then `LINK_DISK_STEPS` with `$3` the device, `$4` the temporary link, `$5` disk.N —
 * the link only where the type check ran (statfs said GFS2) and said `directory`.
 */
export const ENSURE_VM_DIR_AND_LINK_STEPS: readonly BatchStep[] = [
  ...ENSURE_VM_DIR_STEPS,
  { name: 'link', argv: symlinkArgv('$3', '$4'), when: { step: 'type', stdout: 'directory' } },
  { name: 'rename', argv: renameArgv('$4', '$5'), when: { step: 'link', ok: true } },
  { name: 'cleanup', argv: removeFileArgv('$4'), when: { step: 'rename', ok: false } },
];

/**
 * Makes sure the VM directory exists on GFS2. The datastore directory `<DATASTORE_LOCATION>/<ds>`
 * must exist on a healthy, writable GFS2, or be missing right under a `DATASTORE_LOCATION` that is
 * the GFS2 mount (then `ensureDatastoreDir` creates it first); only these directories are created
 * (no `mkdir -p`), so with GFS2 unmounted nothing is ever written to the host's root disk.
 * One remote command (`ENSURE_VM_DIR_STEPS`); three more when the datastore dir is created.
 */
export async function ensureVmDir(
  runner: Runner,
  location: VmLocation,
  options: VmDirOptions = {},
): Promise<string> {
  const checked = recheckLocation(location);
  const { dsDir, vmDir } = checked;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const batch = await runWithDatastoreDir(runner, checked, ENSURE_VM_DIR_STEPS, [dsDir, vmDir], timeoutMs);
  await checkVmDir(batch, dsDir, vmDir, timeoutMs);
  return vmDir;
}

/**
 * Runs an `ENSURE_VM_DIR_STEPS` batch; when it found the datastore dir missing, creates that dir
 * with `ensureDatastoreDir` (a VM's first prolog on a new system datastore) and runs the batch again.
 */
async function runWithDatastoreDir(
  runner: Runner,
  location: VmLocation,
  steps: readonly BatchStep[],
  args: readonly string[],
  timeoutMs: number,
): Promise<Runner> {
  const batch = await runBatch(runner, steps, args, { timeoutMs });
  const statfs = await runOnHost(batch, statFsTypeArgv(location.dsDir), { timeoutMs }).catch(() => null);
  if (statfs === null || statfs.exitCode === 0 || !statfs.stderr.includes('No such file or directory'))
    return batch;
  await ensureDatastoreDir(runner, location, { timeoutMs });
  return runBatch(runner, steps, args, { timeoutMs });
}

/**
 * Creates the system datastore dir `<DATASTORE_LOCATION>/<ds>` as OpenNebula's own drivers do at a
 * VM's first prolog — only when `DATASTORE_LOCATION` itself is the mount point of a healthy,
 * writable GFS2. Anywhere else (GFS2 not mounted, so the mount point is a dir on the root disk; a
 * directory inside a GFS2) it refuses as before: `GFS2 not mounted? <ds dir> missing on <host>`.
 * An existing dir is success.
 */
export async function ensureDatastoreDir(
  runner: Runner,
  location: VmLocation,
  options: VmDirOptions = {},
): Promise<string> {
  const { datastoreLocation, dsDir } = recheckLocation(location);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const missing = new Gfs2Error('NOT_GFS2', `GFS2 not mounted? ${dsDir} missing on ${runner.host}`, {
    host: runner.host,
    path: dsDir,
  });
  let status: Awaited<ReturnType<typeof assertOnGfs2>>;
  try {
    status = await assertOnGfs2(runner, datastoreLocation, { timeoutMs });
  } catch (error) {
    if (Gfs2Error.isInstance(error) && error.code === 'NOT_GFS2') throw missing;
    throw error;
  }
  if (status.mount.target !== datastoreLocation) throw missing;
  const made = await runOnHost(runner, mkdirArgv(dsDir), { timeoutMs });
  if (made.exitCode !== 0 && !made.stderr.includes('File exists'))
    throw commandFailed(made, `mkdir ${dsDir}`, 'EXEC', dsDir);
  return dsDir;
}

/** The verdicts of `ensureVmDir` from its batch (or the same steps inside a larger one). */
async function checkVmDir(batch: Runner, dsDir: string, vmDir: string, timeoutMs: number): Promise<void> {
  await assertOnGfs2(batch, dsDir, { timeoutMs });
  const made = await runOnHost(batch, mkdirArgv(vmDir), { timeoutMs });
  if (made.exitCode !== 0 && !made.stderr.includes('File exists')) {
    throw commandFailed(made, `mkdir ${vmDir}`, 'EXEC', vmDir);
  }
  // An existing entry must be a real directory: a symlink planted there could lead anywhere.
  const type = await runOnHost(batch, fileTypeArgv(vmDir), { timeoutMs });
  if (type.exitCode !== 0) throw commandFailed(type, `stat ${vmDir}`, 'EXEC', vmDir);
  const kind = type.stdout.trim();
  if (kind !== 'directory') {
    throw new Gfs2Error('OUTSIDE_DATASTORE', `VM dir ${vmDir} on ${batch.host} is a ${kind}`, {
      host: batch.host,
      path: vmDir,
    });
  }
}

/**
 * Points `disk.N` at `devicePath`, replacing an existing link atomically: a new symlink under a
 * temporary name in the VM directory, then rename(2) onto `disk.N` (`ln -sfn` unlinks first, so
 * another host could see no `disk.N` for a moment); the temporary link is removed again when the
 * rename fails. Call `ensureVmDir` first. One remote command (`LINK_DISK_STEPS`).
 */
export async function linkDisk(
  runner: Runner,
  disk: DiskLocation,
  devicePath: string,
  options: VmDirOptions = {},
): Promise<void> {
  const { vmDir, diskId, diskPath } = requireKind(disk, 'disk');
  const target = validateDevicePath(devicePath);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const temporary = temporaryLink(vmDir, diskId);
  const batch = await runBatch(runner, LINK_DISK_STEPS, [target, temporary, diskPath], { timeoutMs });
  await checkLinked(batch, target, temporary, diskPath, timeoutMs);
}

/**
 * `ensureVmDir` and then `linkDisk`, as ONE remote command (`ENSURE_VM_DIR_AND_LINK_STEPS`): the
 * same checks and verdicts, one round trip instead of two. The link is made only in a VM dir that
 * statfs placed on GFS2 and that is a real directory; the mount-table, withdraw and read-only
 * verdicts are judged first, so a refusal from them may come after the link was made (as the mkdir
 * of `ensureVmDir` may come before them): a caller that undoes a failure removes `disk.N` where it
 * points to `devicePath`.
 */
export async function ensureVmDirAndLink(
  runner: Runner,
  disk: DiskLocation,
  devicePath: string,
  options: VmDirOptions = {},
): Promise<void> {
  const checked = requireKind(disk, 'disk');
  const { dsDir, vmDir, diskId, diskPath } = checked;
  const target = validateDevicePath(devicePath);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const temporary = temporaryLink(vmDir, diskId);
  const args = [dsDir, vmDir, target, temporary, diskPath];
  const batch = await runWithDatastoreDir(runner, checked, ENSURE_VM_DIR_AND_LINK_STEPS, args, timeoutMs);
  await checkVmDir(batch, dsDir, vmDir, timeoutMs);
  await checkLinked(batch, target, temporary, diskPath, timeoutMs);
}

/** A fresh temporary name for a new link in the VM dir (renamed onto disk.N: `place.ts`). */
function temporaryLink(vmDir: string, diskId: number): string {
  return temporaryPath(vmDir, `disk.${diskId}`, placementToken());
}

/** The verdicts of `linkDisk` from its batch (or the same steps inside a larger one). */
async function checkLinked(
  batch: Runner,
  target: string,
  temporary: string,
  diskPath: string,
  timeoutMs: number,
): Promise<void> {
  const linked = await runOnHost(batch, symlinkArgv(target, temporary), { timeoutMs });
  if (linked.exitCode !== 0) throw commandFailed(linked, `ln -s ${target}`, 'EXEC', diskPath);
  const renamed = await runOnHost(batch, renameArgv(temporary, diskPath), { timeoutMs });
  if (renamed.exitCode !== 0) throw commandFailed(renamed, `link ${diskPath}`, 'EXEC', diskPath);
}

/** What `disk.N` is (a symlink and its target, a file such as a context ISO, or missing). */
export async function readDiskLink(
  runner: Runner,
  disk: DiskLocation,
  options: VmDirOptions = {},
): Promise<DiskEntry> {
  const { diskPath } = requireKind(disk, 'disk');
  const result = await runOnHost(runner, entryArgv(diskPath), {
    timeoutMs: options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
  });
  if (result.exitCode !== 0) {
    if (result.stderr.includes('No such file or directory')) return { type: 'missing' };
    throw commandFailed(result, `readlink ${diskPath}`, 'EXEC', diskPath);
  }
  return parseEntryLine(result.stdout);
}

/** Parses `find -printf '%y\t%l\n'` output for one entry. */
export function parseEntryLine(output: string): DiskEntry {
  const line = output.endsWith('\n') ? output.slice(0, -1) : output;
  const tab = line.indexOf('\t');
  const letter = tab < 0 ? line : line.slice(0, tab);
  switch (letter) {
    case 'l':
      return { type: 'symlink', target: line.slice(tab + 1) };
    case 'f':
      return { type: 'file' };
    case 'd':
      return { type: 'directory' };
    default:
      return { type: 'other' };
  }
}

/** Removes `disk.N` (symlink or file, never what it points to); missing is success. */
export async function removeDiskLink(
  runner: Runner,
  disk: DiskLocation,
  options: VmDirOptions = {},
): Promise<void> {
  const { diskPath } = requireKind(disk, 'disk');
  const result = await runOnHost(runner, removeFileArgv(diskPath), {
    timeoutMs: options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
  });
  if (result.exitCode !== 0) throw commandFailed(result, `rm ${diskPath}`, 'EXEC', diskPath);
}

/**
 * Removes the VM directory `<DATASTORE_LOCATION>/<sysds>/<vmid>` and everything in it; missing is
 * success. The datastore directory must be on GFS2 first: with GFS2 unmounted the directory only
 * looks missing, and reporting success then would hide a VM directory that is still there.
 */
export async function removeVmDir(
  runner: Runner,
  vmDir: VmDirLocation,
  options: VmDirOptions = {},
): Promise<void> {
  const checked = requireKind(vmDir, 'vmdir');
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  await assertOnGfs2(runner, checked.dsDir, { timeoutMs });
  const result = await runOnHost(runner, removeTreeArgv(checked.vmDir), { timeoutMs });
  if (result.exitCode !== 0) throw commandFailed(result, `rm -r ${checked.vmDir}`, 'EXEC', checked.vmDir);
}

function requireKind<K extends VmLocation['kind']>(
  location: VmLocation,
  kind: K,
): Extract<VmLocation, { kind: K }> {
  const checked = recheckLocation(location);
  if (checked.kind !== kind) {
    const what = kind === 'disk' ? 'disk.<n>' : 'VM dir';
    throw new Gfs2Error('OUTSIDE_DATASTORE', `path ${show(checked.path)} is not a ${what}`, {
      path: checked.path,
    });
  }
  return checked as Extract<VmLocation, { kind: K }>;
}
