import { InstallerError } from '../errors.js';
import type { EditResult, TextEdit } from './text-edit.js';

/**
 * libvirt's qemu.conf: `key = "string" | number | [ "a", "b" ]`, `#` comments, arrays may span
 * lines. There is no qemu.conf.d, so the installer edits its keys in place and keeps every other
 * byte of the file.
 */

export type QemuValue = string | number;

export interface Assignment {
  key: string;
  /** Index of the first character of the assignment's first line. */
  start: number;
  /** Index just past the newline that ends the assignment (or the end of the file). */
  end: number;
  /** The value's source text, trimmed, without a trailing comment. */
  valueText: string;
}

const KEY_LINE = /^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=/;

/** Every active (uncommented) assignment, with its extent over several lines for arrays. */
export function parseAssignments(text: string, path = 'qemu.conf'): Assignment[] {
  const assignments: Assignment[] = [];
  let position = 0;
  while (position < text.length) {
    const lineEnd = endOfLine(text, position);
    const line = text.slice(position, lineEnd);
    const match = KEY_LINE.exec(line);
    if (!match?.[1]) {
      position = lineEnd;
      continue;
    }
    const valueStart = position + match[0].length;
    const { end, value } = scanValue(text, valueStart, path, match[1]);
    assignments.push({ key: match[1], start: position, end, valueText: value.trim() });
    position = end;
  }
  return assignments;
}

function endOfLine(text: string, from: number): number {
  const newline = text.indexOf('\n', from);
  return newline < 0 ? text.length : newline + 1;
}

/** Reads a value from `from` to the end of the line where its brackets close. */
function scanValue(text: string, from: number, path: string, key: string): { end: number; value: string } {
  let depth = 0;
  let inString = false;
  let value = '';
  let inComment = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      inComment = false;
      if (depth === 0 && !inString) return { end: i + 1, value };
      if (inString) throw new InstallerError('PARSE', `${path}: string of ${key} not closed on its line`);
      value += ' ';
      continue;
    }
    if (inComment) continue;
    if (inString) {
      value += c;
      if (c === '\\') {
        value += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '#') {
      inComment = true;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[') depth++;
    else if (c === ']') depth--;
    value += c;
  }
  if (depth !== 0 || inString) throw new InstallerError('PARSE', `${path}: value of ${key} is not closed`);
  return { end: text.length, value };
}

export function formatQemuValue(value: QemuValue): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/**
 * Where the commented default of `key` is (`#user = "libvirt-qemu"`): the last `#key =` line,
 * else the last `#   key =` one (libvirt's comments also show examples such as `#  user = "+0"`).
 */
function commentedDefault(text: string, key: string): number | undefined {
  const tight = [...text.matchAll(new RegExp(`^#${key}[ \\t]*=.*$`, 'gm'))];
  const loose = [...text.matchAll(new RegExp(`^#[ \\t]*${key}[ \\t]*=.*$`, 'gm'))];
  return (tight.at(-1) ?? loose.at(-1))?.index;
}

/**
 * Sets `keys` in qemu.conf. A key already set to the wanted value is left as it is (even with
 * other spacing); a set key is rewritten on its own lines; an unset key is inserted right after
 * its commented default (`#user = "root"`), else appended at the end.
 */
export function setQemuKeys(
  text: string,
  keys: Readonly<Record<string, QemuValue>>,
  path = 'qemu.conf',
): EditResult {
  let content = text;
  const edits: TextEdit[] = [];
  for (const [key, value] of Object.entries(keys)) {
    const wanted = formatQemuValue(value);
    const written = `${key} = ${wanted}\n`;
    const found = parseAssignments(content, path).filter((a) => a.key === key);
    if (found.length > 1) {
      throw new InstallerError(
        'PARSE',
        `${path}: ${key} is set ${found.length} times; keep one and run again`,
      );
    }
    const current = found[0];
    const label = `${path} ${key}`;
    if (current) {
      if (current.valueText === wanted) continue;
      const original = content.slice(current.start, current.end);
      const replacement = original.endsWith('\n') ? written : written.slice(0, -1);
      content = content.slice(0, current.start) + replacement + content.slice(current.end);
      edits.push({ label, original, written: replacement });
      continue;
    }
    const commented = commentedDefault(content, key);
    if (commented !== undefined) {
      const at = endOfLine(content, commented);
      const insertion = content[at - 1] === '\n' ? written : `\n${written}`;
      content = content.slice(0, at) + insertion + content.slice(at);
      edits.push({ label, original: '', written: insertion });
      continue;
    }
    const insertion = content === '' || content.endsWith('\n') ? written : `\n${written}`;
    content += insertion;
    edits.push({ label, original: '', written: insertion });
  }
  return { content, edits };
}

/** The current value text of each key (`undefined` when unset), for `doctor` and validation. */
export function readQemuKeys(
  text: string,
  keys: readonly string[],
  path = 'qemu.conf',
): Record<string, string | undefined> {
  const assignments = parseAssignments(text, path);
  const values: Record<string, string | undefined> = {};
  for (const key of keys) values[key] = assignments.findLast((a) => a.key === key)?.valueText;
  return values;
}
