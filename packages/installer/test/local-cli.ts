import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { localExec } from '../src/exec.js';

/**
 * The command line as the installer tests run it on this machine: `cli(...args)` resolves to the
 * exit code; `out` and `err` hold the lines of the last run (emptied at the start of each run).
 */
export function localCli(): {
  cli: (...args: string[]) => Promise<number>;
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  async function cli(...args: string[]): Promise<number> {
    out.length = 0;
    err.length = 0;
    return main(['node', 'one-gfs2clvm', ...args], {
      exec: localExec,
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });
  }
  return { cli, out, err };
}

/** A fresh directory under the system's temp dir, named `one-gfs2clvm-<name>-…`. */
export const scratchDir = (name: string): string => mkdtempSync(join(tmpdir(), `one-gfs2clvm-${name}-`));

/** Removes a scratch directory and all below it (no error when it is already gone). */
export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true });

/** The permission bits of `path` in octal, as `ls -l` would say them (`mask` 0o7777 keeps setgid/sticky). */
export const modeOf = (path: string, mask = 0o777): string => (statSync(path).mode & mask).toString(8);
