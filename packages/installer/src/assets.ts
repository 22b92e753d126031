import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** `assets/` of the package, from `src/` (tests) and from `dist/` (the built CLI) alike. */
export function assetPath(name: string): string {
  return fileURLToPath(new URL(`../assets/${name}`, import.meta.url));
}

export async function readHelperScript(): Promise<string> {
  return readFile(assetPath('one-gfs2clvm-helper'), 'utf8');
}
