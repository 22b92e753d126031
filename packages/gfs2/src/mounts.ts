import { Gfs2Error } from './errors.js';
import { isUnder } from './paths.js';
import { show } from './show.js';

/** What coreutils `stat -f -c %T` prints for GFS2's magic 0x01161970. */
export const GFS2_STATFS_TYPE = 'gfs/gfs2';

/** One mount of the kernel's mount table, as `findmnt -J` reports it. */
export interface MountEntry {
  target: string;
  source: string;
  fstype: string;
  options: string[];
  /** `<major>:<minor>` of the mounted device; GFS2's sysfs `id` file holds the same. */
  majMin: string;
}

/** GFS2's sysfs view of one mounted file system (`/sys/fs/gfs2/<lockTable>/`). */
export interface Gfs2SysfsEntry {
  lockTable: string;
  /** `<major>:<minor>` from the `id` file. */
  id: string | undefined;
  /** From the `withdraw` file: `1` once the file system has withdrawn. */
  withdrawn: boolean | undefined;
}

/** Parses `findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN -T <path>` (one file system). */
export function parseFindmnt(json: string): MountEntry {
  const [first] = parseFindmntTable(json);
  if (first === undefined)
    throw new Gfs2Error('EXEC', `findmnt printed no file system: ${show(json.trim())}`);
  return first;
}

/** Parses `findmnt -J -l -o TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN` (the whole table, flat). */
export function parseFindmntTable(json: string): MountEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Gfs2Error('EXEC', `findmnt printed no JSON: ${show(json.trim())}`);
  }
  const filesystems = (parsed as { filesystems?: unknown } | null)?.filesystems;
  if (!Array.isArray(filesystems)) {
    throw new Gfs2Error('EXEC', `findmnt printed no file system: ${show(json.trim())}`);
  }
  return filesystems.filter(isRecord).map((entry) => {
    const text = (key: string): string => (typeof entry[key] === 'string' ? entry[key] : '');
    return {
      target: text('target'),
      source: text('source'),
      fstype: text('fstype'),
      options: text('options')
        .split(',')
        .filter((option) => option !== ''),
      majMin: text('maj:min'),
    };
  });
}

/**
 * The mount holding `path` by name alone (the deepest target above it; the last one mounted when
 * several share a target), for when the path itself cannot be stat'ed.
 */
export function findMountHolding(table: readonly MountEntry[], path: string): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const entry of table) {
    if (isUnder(path, entry.target) && entry.target.length >= (found?.target.length ?? 0)) found = entry;
  }
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const SYSFS_LINE = /^\/sys\/fs\/gfs2\/([^/]+)\/(id|withdraw):(.*)$/;

/**
 * Parses the `grep -r -H` listing of `/sys/fs/gfs2/<table>/{id,withdraw}` into one entry per
 * lock table. Files deeper down (`lock_module/withdraw` is the lock module's acknowledgement, not
 * the state) are ignored by the pattern.
 */
export function parseGfs2Sysfs(listing: string): Gfs2SysfsEntry[] {
  const byTable = new Map<string, Gfs2SysfsEntry>();
  for (const line of listing.split('\n')) {
    const match = SYSFS_LINE.exec(line);
    if (!match) continue;
    const [, lockTable = '', file, value = ''] = match;
    const entry = byTable.get(lockTable) ?? { lockTable, id: undefined, withdrawn: undefined };
    if (file === 'id') entry.id = value.trim();
    else entry.withdrawn = value.trim() === '1';
    byTable.set(lockTable, entry);
  }
  return [...byTable.values()];
}

/** The sysfs entry of the GFS2 mounted from device `majMin`, if the kernel lists one. */
export function findGfs2Sysfs(
  entries: readonly Gfs2SysfsEntry[],
  majMin: string,
): Gfs2SysfsEntry | undefined {
  return entries.find((entry) => entry.id === majMin);
}
