import type { TextEdit } from './edit/text-edit.js';
import { InstallerError } from './errors.js';
import { MANIFEST_PATH } from './layout.js';
import type { Target } from './target.js';

export type Role = 'host' | 'frontend';

export interface InstalledFile {
  role: Role;
  sha256: string;
  /** Octal, as chmod takes it: `0440`. */
  mode: string;
  /** Where the file that stood there before was kept (restored at uninstall). */
  backup?: string;
}

export interface Manifest {
  version: 1;
  /** Files written whole, by target path. */
  files: Record<string, InstalledFile>;
  /** Lines changed in files the installer does not own, oldest first. */
  edits: Record<string, { role: Role; edits: TextEdit[] }>;
  /** Directories the installer created (removed at uninstall when empty). */
  dirs: string[];
  /** Owner and mode the installer set on existing directories (the GFS2 datastores root). */
  owners: Record<string, { role: Role; before: OwnershipRecord; after: OwnershipRecord }>;
}

/** An `Ownership` as the manifest keeps it: mode in octal, as chmod takes it. */
export interface OwnershipRecord {
  user: string;
  group: string;
  mode: string;
}

export function emptyManifest(): Manifest {
  return { version: 1, files: {}, edits: {}, dirs: [], owners: {} };
}

export async function readManifest(target: Target): Promise<Manifest | null> {
  const text = await target.read(MANIFEST_PATH);
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Manifest;
    if (parsed.version !== 1 || typeof parsed.files !== 'object' || typeof parsed.edits !== 'object') {
      throw new Error('unknown manifest version');
    }
    parsed.dirs ??= [];
    parsed.owners ??= {};
    return parsed;
  } catch (error) {
    throw new InstallerError(
      'MANIFEST',
      `${MANIFEST_PATH} is not a one-gfs2clvm manifest: ${(error as Error).message}`,
    );
  }
}

export async function writeManifest(target: Target, manifest: Manifest): Promise<void> {
  await target.write(MANIFEST_PATH, `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
}
