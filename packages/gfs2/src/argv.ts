/**
 * Pure argv builders for the host side. Every path reaching them is absolute (validated by the
 * callers), so none can be taken for an option; `--` is added where the tool honours it anyway.
 */

/** The root of GFS2's per-file-system sysfs directories (`/sys/fs/gfs2/<lock table>/`). */
export const GFS2_SYSFS = '/sys/fs/gfs2';

/** statfs(2) type name of the file system holding `path` (`gfs/gfs2` for GFS2). */
export function statFsTypeArgv(path: string): string[] {
  return ['stat', '-f', '-c', '%T', '--', path];
}

/** The mount that holds `path`, from the kernel's mount table, as JSON. */
export function findmntArgv(path: string): string[] {
  return ['findmnt', '-J', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN', '-T', path];
}

/**
 * The whole mount table as a flat JSON list. Unlike `-T` it needs no stat(2) of a path, which a
 * withdrawn GFS2 answers with EIO.
 */
export function findmntTableArgv(): string[] {
  return ['findmnt', '-J', '-l', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN'];
}

/**
 * Every GFS2's `id` (`<major>:<minor>` of its device) and `withdraw` (`0`/`1`) file, one
 * `<file>:<content>` line each. One command instead of a shell glob over the directories;
 * `-s` because the directory is missing when the gfs2 module is not loaded.
 */
export function gfs2SysfsArgv(): string[] {
  return ['grep', '-r', '-s', '-H', '--include=id', '--include=withdraw', '-e', '', GFS2_SYSFS];
}

/** lstat(2) file type (`directory`, `symbolic link`, `regular file` …). */
export function fileTypeArgv(path: string): string[] {
  return ['stat', '-c', '%F', '--', path];
}

/** Creates exactly one directory: no `-p`, so a missing parent is never created. */
export function mkdirArgv(path: string): string[] {
  return ['mkdir', '--', path];
}

/** A new symlink `link` → `target`; fails when `link` exists (never follows it). */
export function symlinkArgv(target: string, link: string): string[] {
  return ['ln', '-s', '--', target, link];
}

/**
 * rename(2) `from` onto `to`, replacing `to` atomically; `-T` so that a directory at `to` is an
 * error instead of a place to move into.
 */
export function renameArgv(from: string, to: string): string[] {
  return ['mv', '-f', '-T', '--', from, to];
}

/**
 * One line `<type letter>\t<symlink target>` for `path` without following it (`l`, `f`, `d` …),
 * or exit 1 with "No such file or directory": readlink(1) cannot tell a missing entry from a
 * regular file, `find` tells both in one command.
 */
export function entryArgv(path: string): string[] {
  return ['find', path, '-maxdepth', '0', '-printf', '%y\\t%l\\n'];
}

/**
 * Writes stdin into `path` (created or truncated): the content of a file placed in a VM directory
 * (`placeFile`), streamed over the host's SSH connection.
 */
export function writeStdinArgv(path: string): string[] {
  return ['dd', `of=${path}`, 'bs=1M', 'status=none'];
}

/** Removes one file or symlink; a missing one is success. */
export function removeFileArgv(path: string): string[] {
  return ['rm', '-f', '--', path];
}

/**
 * Removes a directory tree; missing is success. `--one-file-system` so that anything mounted
 * below it is left alone; rm never follows the `disk.N` symlinks.
 */
export function removeTreeArgv(path: string): string[] {
  return ['rm', '-r', '-f', '--one-file-system', '--', path];
}

/** Canonical path of `path`, every component existing (symlinks resolved). */
export function realpathExistingArgv(path: string): string[] {
  return ['realpath', '-e', '--', path];
}

/** Canonical paths, one per line, of paths that may not exist (resolved as far as they do). */
export function realpathMissingOkArgv(paths: readonly string[]): string[] {
  return ['realpath', '-m', '--', ...paths];
}

/** The passwd entry of `user` (field 6 is the home directory). */
export function getentPasswdArgv(user: string): string[] {
  return ['getent', 'passwd', user];
}

export interface QemuImgInfoArgvOptions {
  /** Interpret the file as this format (`-f`) instead of letting qemu-img guess. */
  format?: string;
  /** `-U`: read the metadata even though a running qemu holds the image's write lock. */
  forceShare?: boolean;
}

/** Image metadata as JSON; `-f` when the format is known (then nothing is guessed). */
export function qemuImgInfoArgv(path: string, options: QemuImgInfoArgvOptions = {}): string[] {
  return [
    'qemu-img',
    'info',
    '--output=json',
    ...(options.format === undefined ? [] : ['-f', options.format]),
    ...(options.forceShare ? ['-U'] : []),
    '--',
    path,
  ];
}
