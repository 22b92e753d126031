import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { type EditResult, restoreEdits } from './edit/text-edit.js';
import { InstallerError } from './errors.js';
import { sha256 } from './files.js';
import { BACKUP_DIR, MANIFEST_PATH } from './layout.js';
import {
  emptyManifest,
  type Manifest,
  type OwnershipRecord,
  type Role,
  readManifest,
  writeManifest,
} from './manifest.js';
import type { Ownership, Target, Validation } from './target.js';

/** A file the installer owns whole (the helper, the sudoers fragment, the udev rule …). */
export interface OwnedFile {
  kind: 'file';
  role: Role;
  path: string;
  content: string;
  mode: number;
  validation?: Validation;
  /** A configuration file: one that was already there (and is not ours) is left as it is. */
  keepExisting?: boolean;
}

/** A file the installer edits a few lines of (qemu.conf, oned.conf). */
export interface EditedFile {
  kind: 'edit';
  role: Role;
  path: string;
  edit: (text: string) => EditResult;
  /** What to do when the file is missing (one line). */
  missing: string;
  /** A missing file is not an error: the edit is skipped with a WARN line saying `missing`. */
  optional?: boolean;
  validation?: Validation;
}

/**
 * An existing directory whose owner and mode the installer sets (the GFS2 datastores root, which
 * `oneadmin` must be able to write). The previous owner and mode go into the manifest; `uninstall`
 * puts them back unless they were changed since.
 */
export interface DirOwnership {
  kind: 'owner';
  role: Role;
  path: string;
  /** What the directory should be, given what it is (equal: nothing to do). */
  want: (current: Ownership) => Ownership;
}

export type Item = OwnedFile | EditedFile | DirOwnership;

const showOwnership = (o: Ownership) => `${o.user}:${o.group} ${o.mode.toString(8).padStart(4, '0')}`;
const toRecord = (o: Ownership): OwnershipRecord => ({
  user: o.user,
  group: o.group,
  mode: o.mode.toString(8).padStart(4, '0'),
});
const fromRecord = (r: OwnershipRecord): Ownership => ({
  user: r.user,
  group: r.group,
  mode: Number.parseInt(r.mode, 8),
});
const sameOwnership = (a: Ownership, b: Ownership) =>
  a.user === b.user && a.group === b.group && a.mode === b.mode;

export interface RunContext {
  /** Where the files are: this machine (under a root) or a host over SSH. */
  target: Target;
  dryRun: boolean;
  /** One line of progress or a diff. */
  print: (text: string) => void;
}

export interface InstallOutcome {
  /** Target paths that were (or in a dry run would be) changed. */
  changed: string[];
  /** Files left alone because the admin changed them since they were installed. */
  keptChanged: string[];
}

function diff(path: string, before: string, after: string): string {
  return createTwoFilesPatch(`a${path}`, `b${path}`, before, after, undefined, undefined, { context: 3 });
}

/**
 * Lays down `items`. The manifest is written after every change, so even an install that fails
 * half-way can be uninstalled exactly. A dry run prints the diffs and touches nothing.
 */
export interface InstallOptions {
  /**
   * Directories the items fill completely (the driver action directories): a file the manifest
   * lists there that is no longer among the items — an action a newer driver dropped — is removed,
   * unless the admin changed it.
   */
  ownedDirs?: readonly string[];
}

export async function install(
  items: readonly Item[],
  context: RunContext,
  options: InstallOptions = {},
): Promise<InstallOutcome> {
  const { target } = context;
  const manifest = (await readManifest(target)) ?? emptyManifest();
  const run: InstallRun = {
    context,
    manifest,
    outcome: { changed: [], keptChanged: [] },
    save: async () => {
      manifest.dirs.push(...(await target.ensureParents(MANIFEST_PATH)));
      await writeManifest(target, manifest);
    },
  };
  for (const { item, current, edited } of await planInstall(items, target)) {
    if (item.kind === 'owner') await installOwnership(run, item);
    else if (item.kind === 'file') await installFile(run, item, current);
    else await installEdit(run, item, current, edited);
  }
  await removeDroppedFiles(run, items, options.ownedDirs ?? []);
  return run.outcome;
}

/** What one install run works on: its context, the manifest it keeps up to date, its outcome. */
interface InstallRun {
  context: RunContext;
  manifest: Manifest;
  outcome: InstallOutcome;
  /** Writes the manifest (after every change, so a run stopped half-way can be uninstalled). */
  save: () => Promise<void>;
}

interface PlannedItem {
  item: Item;
  current: string | null;
  edited?: EditResult;
}

/**
 * Every edit is computed before anything is written: a file that cannot be edited safely stops
 * the install with nothing changed.
 */
async function planInstall(items: readonly Item[], target: Target): Promise<PlannedItem[]> {
  const planned: PlannedItem[] = [];
  for (const item of items) {
    if (item.kind === 'owner') {
      planned.push({ item, current: null });
      continue;
    }
    const current = await target.read(item.path);
    if (item.kind === 'file') planned.push({ item, current });
    else if (current === null && item.optional) planned.push({ item, current });
    else if (current === null) throw new InstallerError('PARSE', `${item.path} not found: ${item.missing}`);
    else planned.push({ item, current, edited: item.edit(current) });
  }
  return planned;
}

async function installOwnership({ context, manifest, outcome, save }: InstallRun, item: DirOwnership) {
  const { target, dryRun, print } = context;
  const now = await target.owner(item.path);
  if (now === null) throw new InstallerError('IO', `${target.name}: ${item.path} is missing`);
  const want = item.want(now);
  if (sameOwnership(now, want)) {
    print(`unchanged ${item.path} (${showOwnership(now)})`);
    return;
  }
  outcome.changed.push(item.path);
  if (dryRun) {
    print(`would set ${item.path}: ${showOwnership(now)} -> ${showOwnership(want)}`);
    return;
  }
  // A second change keeps the first "before": uninstall goes back to what stood there first.
  const before = manifest.owners[item.path]?.before ?? toRecord(now);
  await target.setOwner(item.path, want);
  manifest.owners[item.path] = { role: item.role, before, after: toRecord(want) };
  await save();
  print(`set ${item.path}: ${showOwnership(now)} -> ${showOwnership(want)}`);
}

async function installFile(run: InstallRun, item: OwnedFile, current: string | null) {
  const { context, manifest, outcome } = run;
  const { target, dryRun, print } = context;
  const record = manifest.files[item.path];
  if (current === item.content && (await target.mode(item.path)) === item.mode) {
    print(`unchanged ${item.path}`);
    return;
  }
  if (record && current !== null && sha256(current) !== record.sha256) {
    print(`WARN kept ${item.path}: changed since it was installed (remove it and run again to replace it)`);
    outcome.keptChanged.push(item.path);
    return;
  }
  if (!record && current !== null && item.keepExisting) {
    print(`kept existing ${item.path}`);
    return;
  }
  outcome.changed.push(item.path);
  if (dryRun) {
    print(diff(item.path, current ?? '', item.content));
    return;
  }
  await writeOwnedFile(run, item, current);
}

/** Writes an owned file, saving what stood there before the first install to the backup directory. */
async function writeOwnedFile(
  { context, manifest, save }: InstallRun,
  item: OwnedFile,
  current: string | null,
) {
  const { target, print } = context;
  const record = manifest.files[item.path];
  let backup = record?.backup;
  if (current !== null && !record) {
    backup = join(BACKUP_DIR, item.path);
    manifest.dirs.push(...(await target.ensureParents(backup)));
    await target.copy(item.path, backup);
    print(`saved ${item.path} to ${backup}`);
  }
  manifest.dirs.push(...(await target.ensureParents(item.path)));
  await target.write(item.path, item.content, item.mode, item.validation);
  manifest.files[item.path] = {
    role: item.role,
    sha256: sha256(item.content),
    mode: item.mode.toString(8).padStart(4, '0'),
    ...(backup ? { backup } : {}),
  };
  await save();
  print(`installed ${item.path}`);
}

async function installEdit(
  { context, manifest, outcome, save }: InstallRun,
  item: EditedFile,
  current: string | null,
  edited: EditResult | undefined,
) {
  const { target, dryRun, print } = context;
  if (current === null && item.optional) {
    print(`WARN skipped ${item.path}: not found (${item.missing})`);
    return;
  }
  if (!edited || current === null || edited.edits.length === 0) {
    print(`unchanged ${item.path}`);
    return;
  }
  outcome.changed.push(item.path);
  if (dryRun) {
    print(diff(item.path, current, edited.content));
    return;
  }
  await target.write(item.path, edited.content, (await target.mode(item.path)) ?? 0o644, item.validation);
  const entry = manifest.edits[item.path] ?? { role: item.role, edits: [] };
  entry.edits.push(...edited.edits);
  manifest.edits[item.path] = entry;
  await save();
  print(`edited ${item.path}: ${edited.edits.map((e) => e.label.split(' ').slice(1).join(' ')).join(', ')}`);
}

/** Removes the manifest's files in `ownedDirs` that are no longer among the items (see InstallOptions). */
async function removeDroppedFiles(
  { context, manifest, outcome }: InstallRun,
  items: readonly Item[],
  ownedDirs: readonly string[],
) {
  const wanted = new Set(items.map((item) => item.path));
  const dropped = Object.keys(manifest.files).filter(
    (path) => !wanted.has(path) && ownedDirs.some((dir) => path.startsWith(`${dir}/`)),
  );
  for (const path of dropped) {
    const removal: UninstallOutcome = { changed: [], kept: [] };
    await removeOwnedFile(context, manifest, path, removal);
    outcome.changed.push(...removal.changed);
    outcome.keptChanged.push(...removal.kept);
  }
}

export interface UninstallOutcome {
  changed: string[];
  /** Files and edits left in place because they were changed since the install. */
  kept: string[];
}

/**
 * Removes exactly what the manifest lists: a file only while its hash still matches (else it is
 * kept, with a warning), edited lines only while they still read as written; puts back the files
 * that stood there before. `roles` limits it to what those roles installed.
 */
export async function uninstall(context: RunContext, roles?: readonly Role[]): Promise<UninstallOutcome> {
  const { target, dryRun, print } = context;
  const manifest = await readManifest(target);
  if (!manifest)
    throw new InstallerError('MANIFEST', `nothing to uninstall: no manifest at ${MANIFEST_PATH}`);
  const wanted = (role: Role) => !roles || roles.includes(role);
  const outcome: UninstallOutcome = { changed: [], kept: [] };

  for (const [path, record] of Object.entries(manifest.files)) {
    if (!wanted(record.role)) continue;
    await removeOwnedFile(context, manifest, path, outcome);
  }

  for (const [path, entry] of Object.entries(manifest.edits)) {
    if (!wanted(entry.role)) continue;
    const current = await target.read(path);
    if (current === null) {
      print(`WARN ${path} is gone; nothing to restore`);
      if (!dryRun) delete manifest.edits[path];
      continue;
    }
    const result = restoreEdits(current, entry.edits);
    for (const edit of result.kept) {
      print(`WARN kept ${edit.label}: changed since it was installed`);
      outcome.kept.push(edit.label);
    }
    if (result.content !== current) {
      outcome.changed.push(path);
      if (dryRun) print(diff(path, current, result.content));
      else {
        await target.write(path, result.content, (await target.mode(path)) ?? 0o644);
        print(
          `restored ${path}: ${result.restored.map((e) => e.label.split(' ').slice(1).join(' ')).join(', ')}`,
        );
      }
    }
    if (!dryRun) {
      delete manifest.edits[path];
      await writeManifest(target, manifest);
    }
  }

  for (const [path, entry] of Object.entries(manifest.owners)) {
    if (!wanted(entry.role)) continue;
    const now = await target.owner(path);
    const after = fromRecord(entry.after);
    const before = fromRecord(entry.before);
    if (now === null) print(`WARN ${path} is gone; nothing to restore`);
    else if (!sameOwnership(now, after)) {
      print(`WARN kept ${path} (${showOwnership(now)}): changed since it was installed`);
      outcome.kept.push(path);
    } else if (dryRun) {
      outcome.changed.push(path);
      print(`would set ${path}: ${showOwnership(now)} -> ${showOwnership(before)}`);
    } else {
      outcome.changed.push(path);
      await target.setOwner(path, before);
      print(`restored ${path}: ${showOwnership(before)}`);
    }
    if (!dryRun) {
      delete manifest.owners[path];
      await writeManifest(target, manifest);
    }
  }

  if (dryRun) return outcome;
  if (
    Object.keys(manifest.files).length > 0 ||
    Object.keys(manifest.edits).length > 0 ||
    Object.keys(manifest.owners).length > 0
  ) {
    await writeManifest(target, manifest);
    return outcome;
  }
  await target.remove(MANIFEST_PATH);
  for (const dir of [...new Set(manifest.dirs)].sort((a, b) => b.length - a.length)) {
    await target.removeDirIfEmpty(dir);
  }
  return outcome;
}

/**
 * Takes one installed file away: removed (or the file it replaced put back) while its hash still
 * matches the manifest; kept with a warning when the admin changed it since.
 */
async function removeOwnedFile(
  context: RunContext,
  manifest: Manifest,
  path: string,
  outcome: UninstallOutcome,
): Promise<void> {
  const { target, dryRun, print } = context;
  const record = manifest.files[path];
  if (!record) return;
  const current = await target.read(path);
  const previous = record.backup ? await target.read(record.backup) : null;
  if (current !== null && sha256(current) !== record.sha256) {
    print(
      `WARN kept ${path}: changed since it was installed${record.backup ? ` (the file it replaced is in ${record.backup})` : ''}`,
    );
    outcome.kept.push(path);
    if (!dryRun) forgetFile(manifest, path, record.backup !== undefined);
    return;
  }
  if (current === null && previous === null) {
    if (!dryRun) delete manifest.files[path];
    return;
  }
  outcome.changed.push(path);
  if (dryRun) {
    print(diff(path, current ?? '', previous ?? ''));
    return;
  }
  if (record.backup && previous !== null) {
    await target.write(path, previous, (await target.mode(record.backup)) ?? 0o644);
    await target.remove(record.backup);
    print(`restored ${path}`);
  } else {
    await target.remove(path);
    print(`removed ${path}`);
  }
  delete manifest.files[path];
  await writeManifest(target, manifest);
}

/** A file kept because the admin changed it is no longer the installer's. */
function forgetFile(manifest: Manifest, path: string, keepBackupDirs: boolean): void {
  delete manifest.files[path];
  if (keepBackupDirs) manifest.dirs = manifest.dirs.filter((d) => !d.startsWith(BACKUP_DIR));
}
