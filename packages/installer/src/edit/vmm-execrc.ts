import { InstallerError } from '../errors.js';
import type { EditResult } from './text-edit.js';

/**
 * vmm_execrc's `LIVE_DISK_SNAPSHOTS` (opennebula-backups.md §2, §5): the `<VM_MAD>-<TM_MAD>` pairs
 * whose disks oned snapshots while the VM runs (`snap_create_live`); without an entry it refuses
 * ("Cannot perform a live … operation"). The install adds gfs2clvm's pairs to the operator's list,
 * keeping every other entry and comment; only that line changes (uninstall puts it back).
 */

export const LIVE_SNAPSHOT_PAIRS = ['kvm-gfs2clvm', 'qemu-gfs2clvm'] as const;

/** `LIVE_DISK_SNAPSHOTS="…"` (quotes optional, `export` allowed, a trailing comment kept). */
const ASSIGNMENT =
  /^([ \t]*(?:export[ \t]+)?LIVE_DISK_SNAPSHOTS[ \t]*=[ \t]*)(["']?)([^"'\n]*)\2([ \t]*(?:#[^\n]*)?)$/;

interface Found {
  start: number;
  end: number;
  line: string;
  match: RegExpExecArray;
}

/** The effective assignment: the last one that is not commented out (the shell's last one wins). */
function lastAssignment(text: string, path: string): Found | undefined {
  let found: Found | undefined;
  let start = 0;
  for (const raw of text.split('\n')) {
    const end = start + raw.length;
    if (/^[ \t]*(?:export[ \t]+)?LIVE_DISK_SNAPSHOTS[ \t]*=/.test(raw)) {
      const match = ASSIGNMENT.exec(raw);
      if (!match || (match[3] ?? '').trimEnd().endsWith('\\'))
        throw new InstallerError('PARSE', `${path}: LIVE_DISK_SNAPSHOTS is not one quoted list on one line`);
      found = { start, end, line: raw, match };
    }
    start = end + 1;
  }
  return found;
}

/** The pairs the file enables (empty when the variable is not set). */
export function liveSnapshotPairs(text: string, path = 'vmm_execrc'): string[] {
  const found = lastAssignment(text, path);
  return found ? (found.match[3] ?? '').split(/\s+/).filter(Boolean) : [];
}

/** Adds gfs2clvm's pairs to `LIVE_DISK_SNAPSHOTS` (the variable made when absent); idempotent. */
export function enableLiveSnapshots(text: string, path = 'vmm_execrc'): EditResult {
  const found = lastAssignment(text, path);
  const label = `${path} LIVE_DISK_SNAPSHOTS`;
  if (!found) {
    const lead = text === '' || text.endsWith('\n') ? '' : '\n';
    const written = `${lead}LIVE_DISK_SNAPSHOTS="${LIVE_SNAPSHOT_PAIRS.join(' ')}"\n`;
    return { content: text + written, edits: [{ label, original: '', written }] };
  }
  const pairs = liveSnapshotPairs(text, path);
  const missing = LIVE_SNAPSHOT_PAIRS.filter((p) => !pairs.includes(p));
  if (missing.length === 0) return { content: text, edits: [] };
  const [, head, quote, list, tail] = found.match as unknown as string[];
  const value = [list?.trimEnd(), ...missing].filter(Boolean).join(' ');
  const newLine = `${head}${quote || '"'}${value}${quote || '"'}${tail}`;
  // Whole lines with their newline, so uninstall finds the line again.
  const eol = text[found.end] === '\n' ? '\n' : '';
  return {
    content: text.slice(0, found.start) + newLine + text.slice(found.end),
    edits: [{ label, original: found.line + eol, written: newLine + eol }],
  };
}
