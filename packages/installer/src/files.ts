import { createHash } from 'node:crypto';
import { join } from 'node:path';

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The path of a target file inside the install root, on this machine. */
export function inRoot(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}
