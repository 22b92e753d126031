import { rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestbedError } from './errors.js';
import type { StatePaths } from './paths.js';
import { readPidFile } from './processes.js';

/**
 * One `up`/`down` at a time per state folder (several vitest projects start at once): a lock file
 * holding the owner's pid; a lock whose owner died is taken over.
 */
export async function withLock<T>(paths: StatePaths, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      writeFileSync(paths.lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readPidFile(paths.lockFile);
      if (!owner || !pidRuns(owner)) {
        rmSync(paths.lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new TestbedError(
          'ALREADY_RUNNING',
          `another testbed command (pid ${owner}) holds ${paths.lockFile}`,
        );
      }
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(paths.lockFile, { force: true });
  }
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
