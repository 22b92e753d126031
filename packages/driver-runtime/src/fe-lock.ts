import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MetadataLock } from '@one-gfs2clvm/lvm';
import { DriverError } from './errors.js';

/** `flock(1)`'s exit status when the lock is taken by someone else (`-E`): -n refused, -w expired. */
const CONFLICT_EXIT = 75;

/** A lock held by a `flock … cat` child; `release` ends the child and with it the lock. */
export interface HeldLock {
  release: () => Promise<void>;
}

/**
 * Takes an `flock(1)` lock on `file` (made, with its directory, if missing), `shared` or
 * exclusive, waiting up to `waitSeconds` (0: not at all). Held by a `flock … cat` child: `cat`
 * echoes a byte once the lock is ours, and closing its stdin releases it. The child's stdin is a
 * pipe from this process, so when this process dies, even by SIGKILL, the kernel closes it, `cat`
 * ends and the lock is gone: a crashed holder never blocks anyone. `null` when another process
 * holds a conflicting lock for the whole wait.
 */
export async function holdFlock(
  file: string,
  mode: 'shared' | 'exclusive',
  waitSeconds: number,
): Promise<HeldLock | null> {
  mkdirSync(dirname(file), { recursive: true });
  const wait = waitSeconds > 0 ? ['-w', String(waitSeconds)] : ['-n'];
  const child = spawn(
    'flock',
    [mode === 'shared' ? '-s' : '-x', ...wait, '-E', String(CONFLICT_EXIT), file, 'cat'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  // flock exits at once when the lock is busy (-n): the byte for cat then meets a closed pipe.
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const acquired = await new Promise<boolean>((resolve, reject) => {
    child.stdout.once('data', () => resolve(true));
    child.once('error', (e) =>
      reject(new DriverError('LOCK_TIMEOUT', `flock ${file}: ${e.message}`, { cause: e })),
    );
    void exited.then((code) => {
      if (code === CONFLICT_EXIT) resolve(false);
      else reject(new DriverError('LOCK_TIMEOUT', `flock ${file} failed (exit ${code}): ${stderr.trim()}`));
    });
    child.stdin.write('x');
  });
  if (!acquired) return null;
  return {
    release: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * Serialises metadata changes of lock-mode `none` VGs on the front-end, like fs_lvm's `exclusive`:
 * an exclusive `flock(1)` on `<lockDir>/gfs2clvm-<vg>.lock` held while the change runs. It guards
 * only what this front-end issues (as fs_lvm's lock does), which is why lvmlockd is preferred.
 */
export function frontEndLock(lockDir: string, timeoutSeconds: number): MetadataLock {
  return async <T>(vg: string, change: () => Promise<T>): Promise<T> => {
    const file = join(lockDir, `gfs2clvm-${vg}.lock`);
    const held = await holdFlock(file, 'exclusive', timeoutSeconds);
    if (!held)
      throw new DriverError(
        'LOCK_TIMEOUT',
        `VG ${vg}: front-end lock ${file} not free after ${timeoutSeconds} s (exit ${CONFLICT_EXIT})`,
      );
    try {
      return await change();
    } finally {
      await held.release();
    }
  };
}
