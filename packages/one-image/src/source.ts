/*
 * What `cp` imports: the image's PATH, classified and validated. Pure: no file is looked at here;
 * the caller resolves paths with realpath where the file is and applies RESTRICTED_DIRS/SAFE_DIRS
 * (and `assertNotInVmDir` again on the real path).
 *
 * The rules:
 * * `http://…`, `https://…` → `url`. Refused: user:password in the URL (it would be stored in the
 *   image, shown by `oneimage show`, written to logs and to the downloader's argv on the host — put
 *   credentials elsewhere), raw white space or control characters. Log it with `sourceForLog` (no
 *   query string: presigned URLs carry their token there).
 * * `lvm://<vm>/<disk>`, alias `snapshot://` → `vm-disk`; `vol://<image>`, alias `image://` →
 *   `image`. Ids are decimal, no sign, no leading zero, at most 2^31-1; nothing else in the value.
 * * An absolute path under DATASTORE_LOCATION (the GFS2 mount, which the front-end does not see) →
 *   `host-path`, read on a host — except inside a VM directory `<DATASTORE_LOCATION>/<ds>/<vm>/…`
 *   (disk links, checkpoints with a VM's memory, context ISOs of other users: use `lvm://`).
 * * Any other absolute path → `frontend-file` (Sunstone upload, a file on the front-end).
 * * Paths: `//` collapsed, trailing `/` dropped; refused: relative (this also covers a leading
 *   `-`), `.`/`..` components, control characters (NUL, newline …), over 4096 bytes. Shell
 *   metacharacters are legal in file names and kept as they are: they travel as one argv element
 *   and cross SSH through `quoteForShell` only.
 * * Any other scheme (`file:`, `ftp:`, `s3:`, `ssh:`, `docker:` …) → UNSUPPORTED.
 */

import { show } from '@one-gfs2clvm/driver-runtime';
import { isUnder, normalizeAbsolutePath } from '@one-gfs2clvm/gfs2';
import { DsError } from './errors.js';

export type ImageSource =
  | { kind: 'url'; url: URL }
  | { kind: 'frontend-file'; path: string }
  | { kind: 'host-path'; path: string }
  | { kind: 'vm-disk'; vmId: number; diskId: number }
  | { kind: 'image'; imageId: number };

const MAX_LENGTH = 4096;
const MAX_ID = 2_147_483_647;
const ID = '(0|[1-9][0-9]{0,9})';
const VM_DISK = new RegExp(`^(?:lvm|snapshot)://${ID}/${ID}$`, 'i');
const IMAGE = new RegExp(`^(?:vol|image)://${ID}$`, 'i');
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(message: string): never {
  throw new DsError('INVALID_ARGUMENT', message);
}

function id(text: string | undefined, what: string, value: string): number {
  const n = Number(text);
  if (!(n <= MAX_ID)) invalid(`PATH ${show(value)}: ${what} is not an id (0…${MAX_ID})`);
  return n;
}

/** Classifies and validates an image PATH (see the top of this file). */
export function parseImageSource(path: string, opts: { datastoreLocation: string }): ImageSource {
  if (typeof path !== 'string' || path === '') invalid('PATH is empty: nothing to import');
  if (path.length > MAX_LENGTH) invalid(`PATH ${show(path)} is longer than ${MAX_LENGTH} characters`);
  if (CONTROL.test(path)) invalid(`PATH ${show(path)} contains a control character`);

  const scheme = SCHEME.exec(path)?.[1]?.toLowerCase();
  if (scheme === undefined) return parseFilePath(path, opts.datastoreLocation);
  if (scheme === 'http' || scheme === 'https') return { kind: 'url', url: parseUrl(path) };
  if (scheme === 'lvm' || scheme === 'snapshot') {
    const match = VM_DISK.exec(path) ?? invalid(`PATH ${show(path)} is not ${scheme}://<vm id>/<disk id>`);
    return { kind: 'vm-disk', vmId: id(match[1], 'VM id', path), diskId: id(match[2], 'disk id', path) };
  }
  if (scheme === 'vol' || scheme === 'image') {
    const match = IMAGE.exec(path) ?? invalid(`PATH ${show(path)} is not ${scheme}://<image id>`);
    return { kind: 'image', imageId: id(match[1], 'image id', path) };
  }
  throw new DsError(
    'UNSUPPORTED',
    `PATH ${show(path)}: ${scheme}:// not supported (http, https, lvm, snapshot, vol, image or a path)`,
  );
}

function parseUrl(text: string): URL {
  if (/\s/.test(text)) invalid(`PATH ${show(sourceTextForLog(text))}: white space in a URL (write %20)`);
  // WHATWG parsing forgives `https:///x` (host "x") and `http:\\x`: the text must already be plain.
  if (!/^https?:\/\/[^/\\]/i.test(text)) invalid(`PATH ${show(sourceTextForLog(text))} is not a valid URL`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    invalid(`PATH ${show(sourceTextForLog(text))} is not a valid URL`);
  }
  if (url.username !== '' || url.password !== '') {
    invalid(`PATH ${show(sourceForLog({ kind: 'url', url }))}: URL with user:password not accepted`);
  }
  if (url.hostname === '') invalid(`PATH ${show(text)}: URL without a host`);
  return url;
}

function normalize(path: string, what: string): string {
  try {
    return normalizeAbsolutePath(path, what);
  } catch (error) {
    throw new DsError('INVALID_ARGUMENT', (error as Error).message, { cause: error });
  }
}

function parseFilePath(path: string, datastoreLocation: string): ImageSource {
  if (!path.startsWith('/')) {
    invalid(`PATH ${show(path)} is not absolute (a path, or http(s)://, lvm://, vol://)`);
  }
  const normalized = normalize(path, 'PATH');
  const location = datastoreLocationOf(datastoreLocation);
  if (!isUnder(normalized, location)) return { kind: 'frontend-file', path: normalized };
  if (normalized === location) invalid(`PATH ${show(normalized)} is DATASTORE_LOCATION itself, not a file`);
  assertNotInVmDir(normalized, location);
  return { kind: 'host-path', path: normalized };
}

function datastoreLocationOf(value: string): string {
  try {
    return normalizeAbsolutePath(value, 'DATASTORE_LOCATION');
  } catch (error) {
    throw new DsError('CONFIG', (error as Error).message, { cause: error });
  }
}

/**
 * Refuses a path inside a VM directory `<DATASTORE_LOCATION>/<ds id>/<vm id>/…` (`FORBIDDEN`):
 * its disk links lead to other VMs' LVs and its checkpoint holds a VM's memory — the ownership
 * check of `lvm://` would be bypassed. Apply it to the real path too (after realpath on the host).
 */
export function assertNotInVmDir(path: string, datastoreLocation: string): void {
  const location = datastoreLocationOf(datastoreLocation);
  if (!isUnder(path, location)) return;
  const rest = path.slice(location === '/' ? 1 : location.length + 1).split('/');
  const [ds, vm] = rest;
  if (rest.length >= 2 && /^[0-9]+$/.test(ds ?? '') && /^[0-9]+$/.test(vm ?? '')) {
    throw new DsError(
      'FORBIDDEN',
      `PATH ${show(path)} is in the directory of VM ${vm}: import its disks with lvm://${vm}/<disk id>`,
    );
  }
}

/** The source as it may be logged: URLs without query string and fragment (tokens live there). */
export function sourceForLog(source: ImageSource): string {
  switch (source.kind) {
    case 'url':
      return `${source.url.origin}${source.url.pathname}${source.url.search === '' ? '' : '?…'}`;
    case 'frontend-file':
    case 'host-path':
      return source.path;
    case 'vm-disk':
      return `lvm://${source.vmId}/${source.diskId}`;
    case 'image':
      return `vol://${source.imageId}`;
  }
}

/** A raw PATH text cut before `?`, `#` and anything that looks like credentials, for messages. */
function sourceTextForLog(text: string): string {
  return text.replace(/[?#].*$/, '?…').replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1…@');
}
