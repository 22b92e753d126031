/*
 * oned's XML in one place: the parser and its options, the accessors of a parsed document, the
 * permission flags. Read by the oned client (one-client.ts) and the DS driver's payload
 * (one-image's action-data.ts). Refusals are the caller's errors: whatever can refuse takes a
 * `fail` that makes the caller's error from one line (DriverError ONED, DsError INVALID_ARGUMENT …).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type XmlNode = Record<string, unknown>;

/** The caller's error for a one-line message (and the parser's error as its cause). */
export type XmlFail = (message: string, cause?: unknown) => Error;

const parser = new XMLParser({
  ignoreAttributes: true,
  // Values stay text, untrimmed (a PATH may end in a space); numbers are read by `intValue`/`intOf`.
  parseTagValue: false,
  trimValues: false,
  // XML's numeric character references (&#13; from oned's escaping) are decoded.
  htmlEntities: true,
});

/**
 * oned's own answers (`onevm show -x` …, the VM XML of premigrate): parsed as they come; a
 * document the parser cannot read at all is `<what>: not XML: …`.
 */
export function parseXml(xml: string, what: string, fail: XmlFail): XmlNode {
  try {
    return asNode(parser.parse(xml));
  } catch (error) {
    throw fail(`${what}: not XML: ${(error as Error).message}`, error);
  }
}

/**
 * A document from outside (the DS action's payload): refuses an empty or oversized one, DOCTYPE
 * (entity expansion), NUL bytes and invalid XML, each with one line naming `what`.
 */
export function parseCheckedXml(xml: string, what: string, fail: XmlFail, maxBytes: number): XmlNode {
  if (typeof xml !== 'string' || xml.trim() === '') throw fail(`${what}: empty document`);
  if (xml.length > maxBytes) throw fail(`${what}: document over ${maxBytes} bytes`);
  if (/<!DOCTYPE/i.test(xml)) throw fail(`${what}: DOCTYPE not accepted`);
  if (xml.includes('\u0000')) throw fail(`${what}: NUL byte in document`);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw fail(`${what}: not XML: ${valid.err.msg.replace(/\s+/g, ' ')} (line ${valid.err.line})`);
  }
  try {
    return asNode(parser.parse(xml));
  } catch (error) {
    throw fail(`${what}: not usable XML: ${(error as Error).message.slice(0, 100)}`, error);
  }
}

/** A value from untrusted input, quoted and cut, for a one-line message. */
export function show(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/** The first value when an element was repeated. */
function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

/** An element with children (the first of repeated ones); `{}` for anything else. */
export function asNode(value: unknown): XmlNode {
  const v = first(value);
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as XmlNode) : {};
}

/** Text of a leaf element (the first of repeated ones); `undefined` when absent or not a leaf. */
export function textOf(value: unknown): string | undefined {
  const v = first(value);
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Every occurrence of an element, as an array. */
export function listOf(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** An integer leaf, white space around it ignored; `undefined` when absent or not an integer. */
export function intValue(value: unknown): number | undefined {
  const text = textOf(value)?.trim() ?? '';
  return /^-?[0-9]+$/.test(text) ? Number(text) : undefined;
}

/**
 * An integer element: `undefined` when absent; refused when present but not an integer in
 * `[min, max]`.
 */
export function intOf(
  value: unknown,
  what: string,
  fail: XmlFail,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const text = textOf(value)?.trim();
  if (text === undefined || !/^-?[0-9]{1,16}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw fail(`${what} ${show(String(text ?? '<element>'))} is not an integer in ${min}…${max}`);
  }
  return Number(text);
}

/** Simple children of an element as a record (first value of repeats; elements with children left out). */
export function simpleValues(node: XmlNode, skip: readonly string[] = []): Record<string, string> {
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === '#text' || skip.includes(key)) continue;
    const text = textOf(value);
    if (text !== undefined) entries.push([key, text]);
  }
  // fromEntries defines own properties: a key named like an Object.prototype member stays data.
  return Object.fromEntries(entries);
}

/** What one of the three permission rules of an OpenNebula object grants. */
export interface Rights {
  use: boolean;
  manage: boolean;
  admin: boolean;
}

/** `<PERMISSIONS>` of an object: owner/group/other × use/manage/admin. */
export interface PermissionFlags {
  owner: Rights;
  group: Rights;
  other: Rights;
}

/**
 * `<PERMISSIONS><OWNER_U>1</OWNER_U>…</PERMISSIONS>` as parsed (oned always writes all nine, each
 * 0 or 1). With `fail`, a bit that is missing or not 0/1 is refused; without, it grants nothing.
 */
export function permissionFlags(element: unknown, fail?: XmlFail): PermissionFlags {
  const node = asNode(element);
  const bit = (name: string): boolean => {
    const text = textOf(node[name])?.trim();
    if (fail && text !== '0' && text !== '1') {
      throw fail(
        text === undefined
          ? `PERMISSIONS/${name} missing`
          : `PERMISSIONS/${name} ${show(text)} is not 0 or 1`,
      );
    }
    return text === '1';
  };
  // In oned's order: the first bit that is wrong is the one named.
  const rule = (prefix: string): Rights => ({
    use: bit(`${prefix}_U`),
    manage: bit(`${prefix}_M`),
    admin: bit(`${prefix}_A`),
  });
  return { owner: rule('OWNER'), group: rule('GROUP'), other: rule('OTHER') };
}
