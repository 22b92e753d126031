import { InstallerError } from '../errors.js';
import type { EditResult, TextEdit } from './text-edit.js';

/**
 * oned.conf registration of a third-party driver (opennebula-protocol.md §5.3): its name appended
 * to `TM_MAD` `-d`, to `DATASTORE_MAD` `-d` and `-s`, plus a `TM_MAD_CONF` and a `DS_MAD_CONF`
 * block. Only those lines change; the rest of the file is kept byte for byte.
 */

export interface Block {
  name: string;
  /** Index of the first character of the line that opens the block. */
  start: number;
  /** Index just past the line that closes it. */
  end: number;
  body: string;
}

const BLOCK_OPEN = /^[ \t]*([A-Z_][A-Z0-9_]*)[ \t]*=[ \t]*\[/;

/** Top-level `NAME = [ … ]` blocks that are not commented out. */
export function parseBlocks(text: string, path = 'oned.conf'): Block[] {
  const blocks: Block[] = [];
  let position = 0;
  while (position < text.length) {
    const lineEnd = lineEndAt(text, position);
    const match = BLOCK_OPEN.exec(text.slice(position, lineEnd));
    if (!match?.[1]) {
      position = lineEnd;
      continue;
    }
    const close = closingBracket(text, position + match[0].length, path, match[1]);
    const end = lineEndAt(text, close);
    blocks.push({ name: match[1], start: position, end, body: text.slice(position, end) });
    position = end;
  }
  return blocks;
}

function lineEndAt(text: string, from: number): number {
  const newline = text.indexOf('\n', from);
  return newline < 0 ? text.length : newline + 1;
}

function closingBracket(text: string, from: number, path: string, name: string): number {
  let inString = false;
  let inComment = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') inComment = false;
    else if (inComment) continue;
    else if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '#') inComment = true;
    else if (c === ']') return i;
  }
  throw new InstallerError('PARSE', `${path}: the ${name} block is not closed with ]`);
}

/** `NAME = "value"` attributes of a block (keys upper-cased). */
export function blockAttributes(block: Block): Record<string, string> {
  const attributes: Record<string, string> = {};
  const body = block.body.replace(/^[^\n]*?\[/, '');
  for (const match of body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) {
    if (match[1] && match[2] !== undefined) attributes[match[1].toUpperCase()] = match[2];
  }
  return attributes;
}

/**
 * What a MAD accepts when its ARGUMENTS has no such flag: without `-d` every driver directory;
 * without `-s`, one_datastore.rb's built-in list of system-datastore drivers (protocol §1.5).
 */
export const FLAG_DEFAULTS: Readonly<Record<string, readonly string[] | 'all'>> = {
  '-d': 'all',
  '-s': ['shared', 'ssh', 'ceph'],
};

/**
 * Adds `driver` to the comma list after `flag` in an ARGUMENTS string. Without the flag: nothing
 * when the MAD then accepts every driver (`-d`), else the flag with its built-in list plus
 * `driver` appended (`-s shared,ssh,ceph,gfs2clvm`), so what was accepted before still is.
 */
export function addToFlagList(argumentsText: string, flag: string, driver: string): string {
  const tokens = argumentsText.split(/(\s+)/);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== flag) continue;
    const listIndex = i + 2;
    const list = tokens[listIndex];
    if (list === undefined || list.startsWith('-')) return argumentsText;
    if (list.split(',').includes(driver)) return argumentsText;
    tokens[listIndex] = list === '' ? driver : `${list},${driver}`;
    return tokens.join('');
  }
  const fallback = FLAG_DEFAULTS[flag] ?? 'all';
  if (fallback === 'all' || fallback.includes(driver)) return argumentsText;
  const trailing = /\s*$/.exec(argumentsText)?.[0] ?? '';
  const body = argumentsText.slice(0, argumentsText.length - trailing.length);
  return `${body}${body === '' ? '' : ' '}${flag} ${[...fallback, driver].join(',')}${trailing}`;
}

/** The flags' lists of a MAD block's ARGUMENTS (`-d`, `-s`), for doctor. */
export function flagList(argumentsText: string, flag: string): string[] | undefined {
  const tokens = argumentsText.trim().split(/\s+/);
  const index = tokens.indexOf(flag);
  if (index < 0) return undefined;
  return (tokens[index + 1] ?? '').split(',').filter(Boolean);
}

const ARGUMENTS_ATTR = /(ARGUMENTS[ \t]*=[ \t]*")((?:[^"\\\n]|\\.)*)(")/i;

function editArguments(
  text: string,
  blockName: string,
  flags: readonly string[],
  driver: string,
  path: string,
): { content: string; edit?: TextEdit } {
  const blocks = parseBlocks(text, path).filter((b) => b.name === blockName);
  if (blocks.length === 0)
    throw new InstallerError('PARSE', `${path}: no ${blockName} block; is this oned.conf?`);
  if (blocks.length > 1)
    throw new InstallerError('PARSE', `${path}: ${blockName} is defined twice; keep one`);
  const block = blocks[0] as Block;
  // Edit whole lines, so uninstall can find them again.
  let lineStart = block.start;
  while (lineStart < block.end) {
    const lineEnd = lineEndAt(text, lineStart);
    const line = text.slice(lineStart, lineEnd);
    const match = ARGUMENTS_ATTR.exec(line);
    if (match && !line.trimStart().startsWith('#')) {
      const before = match[2] ?? '';
      let after = before;
      for (const flag of flags) after = addToFlagList(after, flag, driver);
      if (after === before) return { content: text };
      const newLine = line.replace(
        ARGUMENTS_ATTR,
        (_all, open: string, _args: string, close: string) => `${open}${after}${close}`,
      );
      return {
        content: text.slice(0, lineStart) + newLine + text.slice(lineEnd),
        edit: { label: `${path} ${blockName} ${flags.join(' ')}`, original: line, written: newLine },
      };
    }
    lineStart = lineEnd;
  }
  throw new InstallerError('PARSE', `${path}: ${blockName} has no ARGUMENTS = "…" on one line`);
}

export interface DriverRegistration {
  driver: string;
  tmMadConf: Readonly<Record<string, string>>;
  dsMadConf: Readonly<Record<string, string>>;
}

export const GFS2CLVM_REGISTRATION: DriverRegistration = {
  driver: 'gfs2clvm',
  // fs_lvm's semantics: images are LVs, VM disks LVs in the system DS's VG, shared system DS.
  tmMadConf: {
    NAME: 'gfs2clvm',
    LN_TARGET: 'SYSTEM',
    CLONE_TARGET: 'SYSTEM',
    SHARED: 'YES',
    DRIVER: 'raw',
    DISK_TYPE: 'BLOCK',
    DS_MIGRATE: 'YES',
    DS_LIVE_MIGRATE: 'NO',
    DS_MIGRATE_SNAP: 'NO',
  },
  dsMadConf: { NAME: 'gfs2clvm', REQUIRED_ATTRS: '', PERSISTENT_ONLY: 'NO' },
};

function renderBlock(name: string, attributes: Readonly<Record<string, string>>): string {
  const lines = Object.entries(attributes).map(([k, v]) => `    ${k} = ${JSON.stringify(v)}`);
  return `${name} = [\n${lines.join(',\n')}\n]\n`;
}

function addConfBlock(
  text: string,
  blockName: string,
  attributes: Readonly<Record<string, string>>,
  path: string,
): { content: string; edit?: TextEdit } {
  const blocks = parseBlocks(text, path).filter((b) => b.name === blockName);
  if (blocks.some((b) => blockAttributes(b).NAME === attributes.NAME)) return { content: text };
  const last = blocks.at(-1);
  const at = last ? last.end : text.length;
  const lead = at > 0 && text[at - 1] !== '\n' ? '\n' : '';
  const written = `${lead}\n${renderBlock(blockName, attributes)}`;
  return {
    content: text.slice(0, at) + written + text.slice(at),
    edit: { label: `${path} ${blockName} ${attributes.NAME}`, original: '', written },
  };
}

/** Registers the driver in oned.conf; a second call on the result changes nothing. */
export function registerDriver(
  text: string,
  registration: DriverRegistration = GFS2CLVM_REGISTRATION,
  path = 'oned.conf',
): EditResult {
  const edits: TextEdit[] = [];
  let content = text;
  for (const step of [
    (t: string) => editArguments(t, 'TM_MAD', ['-d'], registration.driver, path),
    (t: string) => editArguments(t, 'DATASTORE_MAD', ['-d', '-s'], registration.driver, path),
    (t: string) => addConfBlock(t, 'TM_MAD_CONF', registration.tmMadConf, path),
    (t: string) => addConfBlock(t, 'DS_MAD_CONF', registration.dsMadConf, path),
  ]) {
    const result = step(content);
    content = result.content;
    if (result.edit) edits.push(result.edit);
  }
  return { content, edits };
}

export interface RegistrationStatus {
  tmMad: boolean;
  datastoreMadD: boolean;
  datastoreMadS: boolean;
  tmMadConf: boolean;
  dsMadConf: boolean;
}

/** What of the registration is in place (a missing flag means its built-in default, FLAG_DEFAULTS). */
export function registrationStatus(
  text: string,
  driver = 'gfs2clvm',
  path = 'oned.conf',
): RegistrationStatus {
  const blocks = parseBlocks(text, path);
  const args = (name: string) =>
    blockAttributes(blocks.find((b) => b.name === name) ?? { name, start: 0, end: 0, body: '' }).ARGUMENTS ??
    '';
  const listed = (name: string, flag: string) => {
    const list = flagList(args(name), flag) ?? FLAG_DEFAULTS[flag] ?? 'all';
    return list === 'all' || list.includes(driver);
  };
  const hasConf = (name: string) => blocks.some((b) => b.name === name && blockAttributes(b).NAME === driver);
  return {
    tmMad: listed('TM_MAD', '-d'),
    datastoreMadD: listed('DATASTORE_MAD', '-d'),
    datastoreMadS: listed('DATASTORE_MAD', '-s'),
    tmMadConf: hasConf('TM_MAD_CONF'),
    dsMadConf: hasConf('DS_MAD_CONF'),
  };
}
