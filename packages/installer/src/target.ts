import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InstallerError } from './errors.js';
import type { Exec } from './exec.js';

/**
 * How a written file is checked before it replaces the old one: a command run on the temporary
 * file where it lies (`visudo -cf`), or a check of the content in this process.
 */
/** Who owns a path and its permission bits (`chmod` octal, e.g. `0o755`). */
export interface Ownership {
  user: string;
  group: string;
  mode: number;
}

/** `stat` of the owner's and group's names and the mode of a path (never follows a symlink). */
export function ownershipArgv(path: string): string[] {
  return ['stat', '-c', '%U %G %a', '--', path];
}

/** The argvs that give `path` the owner, group and mode of `want` (chown does not follow a symlink given `-h`). */
export function setOwnershipArgvs(path: string, want: Ownership): string[][] {
  return [
    ['chown', '-h', `${want.user}:${want.group}`, '--', path],
    ['chmod', want.mode.toString(8).padStart(4, '0'), '--', path],
  ];
}

function parseOwnership(stdout: string): Ownership | null {
  const [user, group, mode] = stdout.trim().split(' ');
  if (!user || !group || !mode || !/^[0-7]{1,4}$/.test(mode)) return null;
  return { user, group, mode: Number.parseInt(mode, 8) };
}

async function readOwnership(exec: Exec, path: string): Promise<Ownership | null> {
  const result = await exec(ownershipArgv(path));
  return result.exitCode === 0 ? parseOwnership(result.stdout) : null;
}

async function writeOwnership(exec: Exec, name: string, path: string, shown: string, want: Ownership) {
  for (const argv of setOwnershipArgvs(path, want)) {
    const result = await exec(argv);
    if (result.exitCode !== 0)
      throw new InstallerError('IO', `${name}: ${argv[0]} ${shown}: ${firstLine(result.stderr)}`);
  }
}

export type Validation =
  | { argv: (tempPath: string) => string[]; rejected: string; missing: string }
  | { check: (content: string) => void };

/**
 * The file system the installer works on: this machine under `--root` (`LocalTarget`), or a host
 * reached through an argv executor such as an SSH runner (`ExecTarget`), which needs nothing but
 * coreutils there. Paths are the target's own absolute paths.
 */
export interface Target {
  /** `local` or the host name, for messages. */
  readonly name: string;
  /** Runs commands (udevadm, systemctl, visudo …) where the files are. */
  readonly exec: Exec;
  /** Where the target's `/` is on this machine (`/` for a remote host). */
  readonly root: string;
  read(path: string): Promise<string | null>;
  mode(path: string): Promise<number | null>;
  /** The names in a directory, sorted; `null` when it does not exist. */
  list(dir: string): Promise<string[] | null>;
  /** Creates missing parents of `path` (0755); returns them, outermost first. */
  ensureParents(path: string): Promise<string[]>;
  /**
   * Writes `content` under a temporary name next to `path` (containing a dot, so sudo, udev,
   * polkit and systemd all ignore it), fsyncs, sets owner root and `mode`, validates, then renames
   * it into place: readers see the old file or the new one, never half of one.
   */
  write(path: string, content: string, mode: number, validation?: Validation): Promise<void>;
  copy(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  removeDirIfEmpty(dir: string): Promise<void>;
  /** Owner, group and mode of `path`; `null` when it does not exist. */
  owner(path: string): Promise<Ownership | null>;
  /** Sets owner, group and mode of `path` (`chown`, `chmod`). */
  setOwner(path: string, want: Ownership): Promise<void>;
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.one-gfs2clvm-${randomBytes(4).toString('hex')}.tmp`);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

async function validate(
  exec: Exec,
  validation: Validation | undefined,
  temp: string,
  content: string,
): Promise<void> {
  if (!validation) return;
  if ('check' in validation) {
    validation.check(content);
    return;
  }
  let result: Awaited<ReturnType<Exec>>;
  try {
    result = await exec(validation.argv(temp));
  } catch {
    throw new InstallerError('VALIDATION', validation.missing);
  }
  if (result.exitCode === 127) throw new InstallerError('VALIDATION', validation.missing);
  if (result.exitCode !== 0) {
    throw new InstallerError(
      'VALIDATION',
      `${validation.rejected}: ${firstLine(result.stderr || result.stdout)}`,
    );
  }
}

/** This machine, every path under `root`. */
export class LocalTarget implements Target {
  readonly name = 'local';
  constructor(
    readonly root: string,
    readonly exec: Exec,
  ) {}

  private real(path: string): string {
    return this.root === '/' ? path : join(this.root, path);
  }

  async read(path: string): Promise<string | null> {
    try {
      return await readFile(this.real(path), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new InstallerError('IO', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async mode(path: string): Promise<number | null> {
    try {
      return (await lstat(this.real(path))).mode & 0o7777;
    } catch {
      return null;
    }
  }

  async list(dir: string): Promise<string[] | null> {
    try {
      return (await readdir(this.real(dir))).sort();
    } catch {
      return null;
    }
  }

  async ensureParents(path: string): Promise<string[]> {
    const missing: string[] = [];
    for (let dir = dirname(path); dir !== '/'; dir = dirname(dir)) {
      if ((await this.mode(dir)) !== null) break;
      missing.unshift(dir);
    }
    for (const dir of missing) await mkdir(this.real(dir), { mode: 0o755 });
    return missing;
  }

  async write(path: string, content: string, mode: number, validation?: Validation): Promise<void> {
    const real = this.real(path);
    const temp = tempName(real);
    try {
      const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (process.getuid?.() === 0) await chown(temp, 0, 0);
      await chmod(temp, mode);
      await validate(this.exec, validation, temp, content);
      await rename(temp, real);
      await syncDirectory(dirname(real));
    } catch (error) {
      await rm(temp, { force: true });
      if (InstallerError.isInstance(error)) throw error;
      throw new InstallerError('IO', `cannot write ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async copy(from: string, to: string): Promise<void> {
    await copyFile(this.real(from), this.real(to));
  }

  async remove(path: string): Promise<void> {
    await rm(this.real(path), { force: true });
    await syncDirectory(dirname(this.real(path))).catch(() => undefined);
  }

  async removeDirIfEmpty(dir: string): Promise<void> {
    await rmdir(this.real(dir)).catch(() => undefined);
  }

  owner(path: string): Promise<Ownership | null> {
    return readOwnership(this.exec, this.real(path));
  }

  setOwner(path: string, want: Ownership): Promise<void> {
    return writeOwnership(this.exec, this.name, this.real(path), path, want);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A host reached through `exec` (an SSH runner as root): every operation is one small argv of
 * coreutils; paths travel as arguments, never inside the script text.
 */
export class ExecTarget implements Target {
  readonly root = '/';
  constructor(
    readonly name: string,
    readonly exec: Exec,
  ) {}

  private async must(argv: string[], what: string, input?: string): Promise<string> {
    const result = await this.exec(argv, input === undefined ? {} : { input });
    if (result.exitCode !== 0)
      throw new InstallerError('IO', `${this.name}: ${what}: ${firstLine(result.stderr)}`);
    return result.stdout;
  }

  async read(path: string): Promise<string | null> {
    const result = await this.exec(['sh', '-c', '[ -e "$1" ] || exit 3; exec cat -- "$1"', 'sh', path]);
    if (result.exitCode === 3) return null;
    if (result.exitCode !== 0)
      throw new InstallerError('IO', `${this.name}: cannot read ${path}: ${firstLine(result.stderr)}`);
    return result.stdout;
  }

  async mode(path: string): Promise<number | null> {
    const result = await this.exec(['stat', '-c', '%a', '--', path]);
    return result.exitCode === 0 ? Number.parseInt(result.stdout.trim(), 8) : null;
  }

  async list(dir: string): Promise<string[] | null> {
    const result = await this.exec(['sh', '-c', '[ -d "$1" ] || exit 3; exec ls -A -- "$1"', 'sh', dir]);
    if (result.exitCode === 3) return null;
    if (result.exitCode !== 0)
      throw new InstallerError('IO', `${this.name}: cannot list ${dir}: ${firstLine(result.stderr)}`);
    return result.stdout.split('\n').filter(Boolean).sort();
  }

  async ensureParents(path: string): Promise<string[]> {
    const ancestors: string[] = [];
    for (let dir = dirname(path); dir !== '/'; dir = dirname(dir)) ancestors.unshift(dir);
    const out = await this.must(
      ['sh', '-c', 'for d; do [ -e "$d" ] || echo "$d"; done', 'sh', ...ancestors],
      'cannot look at directories',
    );
    const missing = out.split('\n').filter(Boolean);
    if (missing.length > 0)
      await this.must(['mkdir', '-m', '0755', '--', ...missing], 'cannot create directories');
    return missing;
  }

  async write(path: string, content: string, mode: number, validation?: Validation): Promise<void> {
    const temp = tempName(path);
    try {
      await this.must(
        [
          'sh',
          '-c',
          'set -eC; umask 077; cat >"$1"; chown 0:0 "$1"; chmod "$2" "$1"; sync "$1"',
          'sh',
          temp,
          mode.toString(8),
        ],
        `cannot write ${path}`,
        content,
      );
      await validate(this.exec, validation, temp, content);
      await this.must(
        ['sh', '-c', 'mv -f -T -- "$1" "$2" && sync "$(dirname -- "$2")"', 'sh', temp, path],
        `cannot rename into ${path}`,
      );
    } catch (error) {
      await this.exec(['rm', '-f', '--', temp]).catch(() => undefined);
      throw error;
    }
  }

  async copy(from: string, to: string): Promise<void> {
    await this.must(['cp', '-p', '--', from, to], `cannot copy ${from}`);
  }

  async remove(path: string): Promise<void> {
    await this.must(['rm', '-f', '--', path], `cannot remove ${path}`);
  }

  async removeDirIfEmpty(dir: string): Promise<void> {
    await this.exec(['rmdir', '--', dir]);
  }

  owner(path: string): Promise<Ownership | null> {
    return readOwnership(this.exec, path);
  }

  setOwner(path: string, want: Ownership): Promise<void> {
    return writeOwnership(this.exec, this.name, path, path, want);
  }
}
