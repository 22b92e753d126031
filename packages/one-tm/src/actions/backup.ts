import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type ActionContext,
  DriverError,
  expectArgs,
  type Host,
  hostCommandFailed,
  MAX_PAYLOAD_BYTES,
  parseCheckedXml,
  parseIdArg,
  rollback,
  show,
  textOf,
  type XmlNode,
} from '@one-gfs2clvm/driver-runtime';
import { DATA_TIMEOUT_MS, devicePath, type LvRef } from '@one-gfs2clvm/lvm';
import { type HostVmDir, parseHostVmDir, parseVmIdArg } from '../args.js';
import { listDiskLinks } from '../disk-link.js';
import { deactivatePoolIfIdle } from '../thin.js';
import { linkTarget } from './delete.js';

/*
 * Powered-off FULL backups (opennebula-backups.md §3): `prebackup` writes `disk.<id>.0` (qcow2 v3,
 * the disk's full virtual size, read from its LV) and `vm.xml` (base64 of the VM XML on stdin) into
 * `<vm dir>/backup/`, where OpenNebula's backup datastore drivers read them; `postbackup` removes
 * that directory. Live backups, increments, restore and cancel are not done yet.
 */

const MiB = 2 ** 20;
const USAGE =
  'host:<ds dir>/<vm> <disk ids joined by :> <deploy id> <backup job id or -> <vm id> <sys ds id> (+ VM XML on stdin)';
/** At most this many disk ids (oned's VMs have far fewer disks). */
const MAX_DISKS = 256;

export interface BackupArgs {
  location: HostVmDir;
  diskIds: number[];
  deployId: string;
  /** `undefined` for `-` (a backup that is not part of a backup job). */
  jobId: number | undefined;
  vmId: number;
}

/** The argv of prebackup and postbackup (spec §3.2), every field checked. */
export function parseBackupArgs(
  action: string,
  argv: readonly string[],
  datastoreLocation: string,
): BackupArgs {
  expectArgs(action, argv, [6], USAGE);
  const location = parseHostVmDir(argv[0] as string, datastoreLocation);
  const diskIds = parseDiskIds(argv[1] as string);
  const deployId = argv[2] as string;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(deployId))
    throw new DriverError('INVALID_ARGUMENT', `deploy id ${show(deployId)} is not valid`);
  const jobId = argv[3] === '-' ? undefined : parseIdArg(argv[3] as string, 'backup job id');
  const vmId = parseVmIdArg(argv[4] as string, location);
  const dsId = parseIdArg(argv[5] as string, 'datastore id');
  if (dsId !== location.dsId)
    throw new DriverError(
      'INVALID_ARGUMENT',
      `datastore id ${dsId} does not match the path ${location.path}`,
    );
  return { location, diskIds, deployId, jobId, vmId };
}

/** `0:1:3` → [0, 1, 3]: at least one id, no repeats. */
export function parseDiskIds(arg: string): number[] {
  const words = arg.split(':');
  if (arg === '' || words.length > MAX_DISKS)
    throw new DriverError(
      'INVALID_ARGUMENT',
      `disk ids ${show(arg)} are not 1 to ${MAX_DISKS} ids joined by ":"`,
    );
  const ids = words.map((w) => parseIdArg(w, 'disk id'));
  if (new Set(ids).size !== ids.length)
    throw new DriverError('INVALID_ARGUMENT', `disk ids ${show(arg)} name a disk twice`);
  return ids;
}

export interface BackupVm {
  /** `BACKUPS/BACKUP_CONFIG/MODE`, upper case; FULL when absent. */
  mode: string;
  /** `<BACKUP_RESULT>FAILURE</BACKUP_RESULT>` inside `<VM>` (postbackup after a failed step). */
  failed: boolean;
}

const invalid = (message: string) => new DriverError('INVALID_ARGUMENT', message);

/** The raw `<VM>` XML of stdin (not base64), at most MAX_PAYLOAD_BYTES, and of VM `vmId`. */
export function parseBackupVm(xml: string, vmId: number): BackupVm {
  const vm = parseCheckedXml(xml, 'VM XML on stdin', invalid, MAX_PAYLOAD_BYTES).VM as XmlNode | undefined;
  const id = textOf(vm?.ID)?.trim();
  if (id !== String(vmId)) throw invalid(`VM XML on stdin is VM ${show(id ?? '<none>')}, not ${vmId}`);
  const config = (vm?.BACKUPS as XmlNode | undefined)?.BACKUP_CONFIG as XmlNode | undefined;
  return {
    mode: (textOf(config?.MODE)?.trim() || 'FULL').toUpperCase(),
    failed: textOf(vm?.BACKUP_RESULT)?.trim().toUpperCase() === 'FAILURE',
  };
}

/**
 * Room a qcow2 of a fully written disk of `virtualBytes` takes at most: the data, its L2 tables
 * (8 bytes per 64 KiB cluster) and refcounts (2 bytes per cluster) — under 1/4096 of the data —
 * plus 1 MiB for the header, L1 table and refcount table.
 */
export function qcow2MaxBytes(virtualBytes: number): number {
  return virtualBytes + Math.ceil(virtualBytes / 4096) + MiB;
}

/** `null` when `freeBytes` hold the backups of disks of these sizes, else the line saying what is missing. */
export function spaceShortage(where: string, freeBytes: number, diskBytes: readonly number[]): string | null {
  const needed = diskBytes.reduce((sum, b) => sum + qcow2MaxBytes(b), 0);
  if (needed <= freeBytes) return null;
  // Whole MiB that add up: needed rounded up, free rounded down.
  const [neededMiB, freeMiB] = [Math.ceil(needed / MiB), Math.floor(freeBytes / MiB)];
  return `backup needs ${neededMiB} MiB on ${where}, ${neededMiB - freeMiB} MiB missing (${freeMiB} MiB free)`;
}

/**
 * OpenNebula's `remotes/etc/datastore/datastore.conf`, next to the installed scripts
 * (`remotes/tm/gfs2clvm/`): where an operator sets `BACKUP_BASE_PATH` (shell syntax).
 */
const DATASTORE_CONF = new URL('../../etc/datastore/datastore.conf', import.meta.url);

/** `BACKUP_BASE_PATH` as a shell would set it from datastore.conf's text (the last uncommented assignment). */
export function backupBasePath(text: string): string | undefined {
  let value: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?BACKUP_BASE_PATH=(.*)$/.exec(line);
    if (m) value = (m[1] as string).trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return value || undefined;
}

/** Refuses a `BACKUP_BASE_PATH` set in datastore.conf (`file`); a missing file sets nothing. */
export function refuseBackupBasePath(file: string | URL = DATASTORE_CONF): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return;
  }
  const base = backupBasePath(text);
  if (base)
    throw new DriverError(
      'UNSUPPORTED',
      `BACKUP_BASE_PATH ${show(base)} not supported by gfs2clvm (backups go to <vm dir>/backup on GFS2): unset it in ${typeof file === 'string' ? file : fileURLToPath(file)}`,
    );
}

/** `<vm dir>/backup`, where the backup datastore drivers read (spec §3.3). */
export const backupDir = (vmDir: string): string => `${vmDir}/backup`;

/**
 * A fixed script (`$1` the VM directory): the old backup directory removed, then the file system's
 * type, block size and blocks available (`stat -f`).
 */
export const PREPARE_SCRIPT =
  '[ -d "$1" ] && [ ! -L "$1" ] || { echo "no VM directory $1" >&2; exit 3; }; ' +
  'rm -rf --one-file-system -- "$1/backup" || exit; stat -f -c "%T %S %a" -- "$1"';

/** The statfs answer of PREPARE_SCRIPT: type and free bytes; `null` when it is not that shape. */
export function parseStatFs(stdout: string): { type: string; freeBytes: number } | null {
  const m = /^(\S+) ([0-9]{1,12}) ([0-9]{1,15})$/.exec(stdout.trim());
  return m ? { type: m[1] as string, freeBytes: Number(m[2]) * Number(m[3]) } : null;
}

/**
 * argv of one disk's backup: the LV read raw with direct I/O, written as a standalone qcow2 v3 of
 * the same virtual size (zero runs stay unallocated: they read as zeros, there is no backing file).
 */
export function backupConvertArgv(from: LvRef, file: string): string[] {
  return [
    'qemu-img',
    'convert',
    '-q',
    '-f',
    'raw',
    '-O',
    'qcow2',
    '-o',
    'compat=1.1',
    '-T',
    'none',
    devicePath(from),
    file,
  ];
}

interface BackupDisk {
  diskId: number;
  ref: LvRef;
  sizeBytes: number;
  /** Activated for the backup (the VM's host did not have it active): deactivated after. */
  activated: boolean;
  pool: string | null;
}

/** The LV behind `disk.<id>` of each argv disk, with its size. */
async function backupDisks(host: Host, args: BackupArgs): Promise<BackupDisk[]> {
  const links = await listDiskLinks(host, args.location);
  const disks: BackupDisk[] = [];
  for (const diskId of args.diskIds) {
    const target = links.find((l) => l.diskId === diskId)?.target;
    const ref = target === undefined ? null : linkTarget(target);
    if (!ref)
      throw new DriverError(
        'NOT_FOUND',
        `backup of disk ${diskId}: ${args.location.vmDir}/disk.${diskId} is not a link to an LV on ${host.name}`,
      );
    const lv = await host.lvm.getLv(ref.vg, ref.lv);
    disks.push({ diskId, ref, sizeBytes: lv.sizeBytes, activated: lv.active !== true, pool: lv.pool });
  }
  return disks;
}

/** Old backup directory gone, the GFS2 checked for room for all disks. */
async function prepareDir(host: Host, vmDir: string, disks: readonly BackupDisk[]): Promise<void> {
  const r = await host.runner.run(['sh', '-c', PREPARE_SCRIPT, 'prebackup', vmDir], {
    reject: false,
    timeoutMs: 120_000,
  });
  if (r.exitCode !== 0) throw hostCommandFailed(host, `prepare ${backupDir(vmDir)}`, r.exitCode, r.stderr);
  const fs = parseStatFs(r.stdout);
  if (!fs)
    throw new DriverError(
      'EXEC',
      `stat -f ${vmDir} on ${host.name}: unexpected answer ${show(r.stdout.trim())}`,
    );
  if (fs.type !== 'gfs/gfs2')
    throw new DriverError('CONFLICT', `not GFS2: ${vmDir} on ${host.name} is on ${fs.type}`);
  const short = spaceShortage(
    `${host.name}:${vmDir}`,
    fs.freeBytes,
    disks.map((d) => d.sizeBytes),
  );
  if (short) throw new DriverError('CONFLICT', short);
}

/** Writes `disk.<id>.0` of one disk, the LV active here only for as long as it was not before. */
async function backupDisk(ctx: ActionContext, host: Host, dir: string, disk: BackupDisk): Promise<void> {
  const file = `${dir}/disk.${disk.diskId}.0`;
  if (disk.activated) await host.lvm.activateLv(disk.ref.vg, disk.ref.lv, 'exclusive');
  try {
    const what = `backup of ${disk.ref.vg}/${disk.ref.lv} to ${file} on ${host.name}`;
    await ctx.log.timed(what, async () => {
      const r = await host.data.run(backupConvertArgv(disk.ref, file), {
        reject: false,
        timeoutMs: DATA_TIMEOUT_MS,
      });
      if (r.exitCode !== 0) throw hostCommandFailed(host, what, r.exitCode, r.stderr);
    });
  } finally {
    if (disk.activated)
      await rollback(ctx, [
        ...(disk.pool ? [() => deactivatePoolIfIdle(host, disk.ref.vg, disk.pool as string)] : []),
        () => host.lvm.ensureInactive(disk.ref.vg, disk.ref.lv),
      ]);
  }
}

/**
 * `prebackup host:<ds dir>/<vm> <disk ids> <deploy id> <job id|-> <vm id> <sys ds id>`, stdin the
 * raw VM XML (spec §3.2, §3.3): `<vm dir>/backup/` recreated empty, room on the GFS2 checked, each
 * disk written as `disk.<id>.0`, then `vm.xml`. On failure the directory is removed again.
 */
export async function prebackup(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const args = parseBackupArgs(ctx.action, argv, ctx.config.datastoreLocation);
  const xml = await ctx.readStdin();
  const vm = parseBackupVm(xml, args.vmId);
  if (vm.mode === 'INCREMENT')
    throw new DriverError(
      'UNSUPPORTED',
      `prebackup of VM ${args.vmId}: MODE=INCREMENT: increments not supported yet by gfs2clvm (use MODE=FULL)`,
    );
  if (vm.mode !== 'FULL') throw invalid(`BACKUP_CONFIG/MODE ${show(vm.mode)} is not FULL or INCREMENT`);
  refuseBackupBasePath();
  const host = ctx.hosts.get(args.location.host);
  const disks = await backupDisks(host, args);
  const dir = backupDir(args.location.vmDir);
  await prepareDir(host, args.location.vmDir, disks);
  try {
    await host.runner.run(['mkdir', '--', dir], { timeoutMs: 60_000 });
    for (const disk of disks) await backupDisk(ctx, host, dir, disk);
    const written = await host.runner.run(['dd', `of=${dir}/vm.xml`, 'bs=1M', 'status=none'], {
      stdin: Buffer.from(xml, 'utf8').toString('base64'),
      reject: false,
      timeoutMs: 120_000,
    });
    if (written.exitCode !== 0)
      throw hostCommandFailed(host, `write ${dir}/vm.xml`, written.exitCode, written.stderr);
  } catch (error) {
    await rollback(ctx, [() => removeBackupDir(host, args.location.vmDir)]);
    throw error;
  }
  ctx.log.info(`backup of VM ${args.vmId} (disks ${args.diskIds.join(', ')}) in ${dir} on ${host.name}`);
}

async function removeBackupDir(host: Host, vmDir: string): Promise<void> {
  const r = await host.runner.run(['rm', '-rf', '--one-file-system', '--', backupDir(vmDir)], {
    reject: false,
    timeoutMs: 120_000,
  });
  if (r.exitCode !== 0) throw hostCommandFailed(host, `remove ${backupDir(vmDir)}`, r.exitCode, r.stderr);
}

/**
 * `postbackup`, same argv and stdin: `<vm dir>/backup/` removed, after a successful backup and after
 * a failed one (`BACKUP_RESULT=FAILURE`). A failed clean-up is one ERROR line, never a failure: a
 * non-zero exit here would fail a backup that succeeded (spec §3.2).
 */
export async function postbackup(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const args = parseBackupArgs(ctx.action, argv, ctx.config.datastoreLocation);
  try {
    const vm = parseBackupVm(await ctx.readStdin(), args.vmId);
    if (vm.failed) ctx.log.info(`backup of VM ${args.vmId} failed: removing what prebackup wrote`);
  } catch (error) {
    ctx.log.error(`VM XML on stdin not used: ${(error as Error).message}`);
  }
  try {
    await removeBackupDir(ctx.hosts.get(args.location.host), args.location.vmDir);
  } catch (error) {
    ctx.log.error(
      `postbackup of VM ${args.vmId}: clean-up failed, left for the next backup: ${(error as Error).message}`,
    );
  }
}
