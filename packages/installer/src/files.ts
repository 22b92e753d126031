import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, lstat, mkdir, open, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InstallerError } from './errors.js';

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The path of a target file inside the install root. */
export function inRoot(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}

export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InstallerError('IO', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

export async function modeOf(path: string): Promise<number | null> {
  try {
    return (await lstat(path)).mode & 0o7777;
  } catch {
    return null;
  }
}

/** Creates missing parents of `path` (0755); returns the directories it created, outermost first. */
export async function ensureParents(path: string): Promise<string[]> {
  const missing: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      await lstat(dir);
      break;
    } catch {
      missing.unshift(dir);
    }
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) await mkdir(dir, { mode: 0o755 });
  return missing;
}

export type Validator = (tempPath: string) => Promise<void>;

/**
 * Writes `content` next to `path` under a temporary name (containing a dot, so sudo, udev, polkit
 * and systemd all ignore it), validates it, fsyncs, then renames it into place: readers see the
 * old file or the new one, never half of one. Owned by root when run as root.
 */
export async function writeAtomically(
  path: string,
  content: string,
  mode: number,
  validate?: Validator,
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.one-gfs2clvm-${randomBytes(4).toString('hex')}.tmp`);
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
    if (validate) await validate(temp);
    await rename(temp, path);
    await syncDirectory(dirname(path));
  } catch (error) {
    await rm(temp, { force: true });
    if (InstallerError.isInstance(error)) throw error;
    throw new InstallerError('IO', `cannot write ${path}: ${(error as Error).message}`, { cause: error });
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

export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
  await syncDirectory(dirname(path)).catch(() => undefined);
}

/** Removes `dir` if it is empty; true when removed. */
export async function removeDirIfEmpty(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch {
    return false;
  }
}
