import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { main } from '../src/cli.js';
import { localExec } from '../src/exec.js';
import { snapshotTree } from './tree.js';

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

type Cli = (...args: string[]) => Promise<number>;

/** `install --role <role>` run again on `root`: exits 0, ends with "changed 0 file(s)" and leaves the tree as it was. */
export async function reinstallChangesNothing(cli: Cli, out: string[], root: string, role: string) {
  const before = snapshotTree(root);
  expect(await cli('install', '--role', role, '--root', root)).toBe(0);
  expect(out.at(-1)).toBe('changed 0 file(s)');
  expect(snapshotTree(root)).toEqual(before);
}

/** What `install --role <role> --dry-run` prints on `root`, after checking that it exits 0 and changes nothing. */
export async function dryRunText(cli: Cli, out: string[], root: string, role: string): Promise<string> {
  const before = snapshotTree(root);
  expect(await cli('install', '--role', role, '--root', root, '--dry-run')).toBe(0);
  expect(snapshotTree(root)).toEqual(before);
  return out.join('\n');
}
