import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every path under `root` with its type, mode and content hash: two equal snapshots mean an unchanged tree. */
export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const key = `${rel}/${name}`;
      const info = lstatSync(path);
      const mode = (info.mode & 0o7777).toString(8);
      if (info.isDirectory()) {
        out[key] = `dir ${mode}`;
        walk(path, key);
      } else {
        out[key] = `file ${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
      }
    }
  };
  walk(root, '');
  return out;
}
