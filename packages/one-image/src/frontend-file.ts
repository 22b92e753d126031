import type { Stats } from 'node:fs';
import { constants, type FileHandle, open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { systemErrorReason } from '@one-gfs2clvm/driver-runtime';
import { DsError } from './errors.js';

/*
 * A file on the front-end read by `cp` (a Sunstone upload, a local path), after its path passed
 * RESTRICTED_DIRS/SAFE_DIRS. It is opened once, up front, and that descriptor is what gets read:
 * its type is checked on the descriptor itself (a file swapped for a FIFO or a device after the
 * check is refused, never read), and no later `open` can fail while a stream is already on its
 * way (the unhandled 'error' event of issue 13). A FIFO or a device is refused by its type before
 * it is opened at all, and opened without blocking (a FIFO with no writer) in case it became one.
 */

/** The file opened for reading, and its size from the descriptor. */
export interface OpenedFile {
  path: string;
  handle: FileHandle;
  size: number;
}

/** Read-only; a FIFO does not block the open, a terminal does not become the controlling one. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

function kindOf(info: Stats): string | undefined {
  if (info.isFile()) return undefined;
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a file';
}

function notRegular(action: string, path: string, kind: string): DsError {
  return new DsError(
    'INVALID_ARGUMENT',
    `${action}: ${path} on the front-end is ${kind}, not a regular file`,
  );
}

/** `cp: cannot read /etc/shadow on the front-end: permission denied` (`NOT_FOUND` when it is gone). */
export function cannotRead(action: string, path: string, error: unknown): DsError {
  const code = (error as { code?: unknown }).code;
  return new DsError(
    code === 'ENOENT' || code === 'ENOTDIR'
      ? 'NOT_FOUND'
      : code === 'EACCES' || code === 'EPERM'
        ? 'FORBIDDEN'
        : 'EXEC',
    `${action}: cannot read ${path} on the front-end: ${systemErrorReason(error)}`,
    { cause: error },
  );
}

/**
 * Opens the front-end file `path` (a real path) for `action`: refused with one line when it cannot
 * be read (permission, gone) or is not a regular file (directory, FIFO, device, socket).
 */
export async function openRegularFile(action: string, path: string): Promise<OpenedFile> {
  let before: Stats;
  try {
    before = await stat(path);
  } catch (error) {
    throw cannotRead(action, path, error);
  }
  const kind = kindOf(before);
  if (kind !== undefined) throw notRegular(action, path, kind);
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw cannotRead(action, path, error);
  }
  try {
    const info = await handle.stat();
    const now = kindOf(info);
    if (now !== undefined) throw notRegular(action, path, now);
    return { path, handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * The opened file's first `size` bytes as a stream (at most one more byte when the size was 0); the
 * descriptor is closed when the stream ends or is destroyed.
 */
export function readOpenedFile(file: OpenedFile): Readable {
  return file.handle.createReadStream({ start: 0, end: Math.max(file.size - 1, 0) });
}
