import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MetadataLock } from '@one-gfs2clvm/lvm';
import { TmError } from './errors.js';

/**
 * Serialises metadata changes of lock-mode `none` VGs on the front-end, like fs_lvm's `exclusive`:
 * an exclusive `flock(1)` on `<lockDir>/gfs2clvm-<vg>.lock`, held by a `flock … cat` child while the
 * change runs. `cat` echoes a byte once the lock is ours; closing its stdin releases it. It guards
 * only what this front-end issues (as fs_lvm's lock does), which is why lvmlockd is preferred.
 */
export function frontEndLock(lockDir: string, timeoutSeconds: number): MetadataLock {
  return async <T>(vg: string, change: () => Promise<T>): Promise<T> => {
    mkdirSync(lockDir, { recursive: true });
    const file = join(lockDir, `gfs2clvm-${vg}.lock`);
    const child = spawn('flock', ['-x', '-w', String(timeoutSeconds), file, 'cat'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const acquired = new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('error', (e) =>
        reject(new TmError('LOCK_TIMEOUT', `flock ${file}: ${e.message}`, { cause: e })),
      );
      child.once('exit', (code) =>
        reject(
          new TmError(
            'LOCK_TIMEOUT',
            `VG ${vg}: front-end lock ${file} not free after ${timeoutSeconds} s (exit ${code})`,
          ),
        ),
      );
    });
    child.stdin.write('x');
    try {
      await acquired;
      return await change();
    } finally {
      child.stdin.end();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    }
  };
}
