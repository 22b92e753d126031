/*
 * HTTP(S) GET of an image URL without server-side request forgery (design §5): the front-end sits
 * inside the operator's network, and a user's URL must not reach what only the front-end can.
 *
 * * The name is resolved here (`resolve`, default the system resolver); every address it gives must
 *   pass `addressRefusal` (URL_ALLOW_NETS opens networks for internal mirrors); an IP literal is
 *   checked as it is.
 * * The connection goes to exactly the address checked: the request's `lookup` answers that address
 *   and nothing else, so no second resolution (DNS rebinding) can swap it. TLS still verifies the
 *   certificate against the URL's host name (SNI and identity come from the URL, not the address).
 * * Redirects are followed here, at most `MAX_REDIRECTS`, each target checked again like the first
 *   URL (http/https only, no credentials, its own resolution and address check).
 */
import { lookup as systemLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIPv6, type LookupFunction } from 'node:net';
import { DsError } from './errors.js';
import { type AllowedNet, addressRefusal, isIpLiteral } from './url-policy.js';

/** Redirects followed before giving up (curl's and OpenNebula's downloader allow more; 5 is plenty). */
export const MAX_REDIRECTS = 5;
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** Resolves a host name to its addresses (all of them: each one is checked). */
export type Resolver = (hostname: string) => Promise<string[]>;

export interface UrlFetchOptions {
  /** The action (`cp`, `stat`): the first word of a refusal. */
  action: string;
  /** URL_ALLOW_NETS, parsed. */
  allow: readonly AllowedNet[];
  /** Default: the system resolver (`getaddrinfo`, every address). Tests inject their own. */
  resolve?: Resolver;
  /** Bytes `start`…`end` (inclusive) asked for with `Range`; the server may answer the whole body. */
  range?: { start: number; end: number };
  /** Aborts the request and the body. */
  signal?: AbortSignal;
  /** Fails the request, or the body as it is read, after this long without a byte. */
  idleTimeoutMs?: number;
  /** INFO lines (redirects). */
  log?: (line: string) => void;
}

export interface UrlResponse {
  /** The body; destroy it when not read to the end. */
  body: IncomingMessage;
  /** 200, or 206 for a range. */
  status: number;
  /** `Content-Length`, when given. */
  length: number | undefined;
  /** The first byte and the whole size from `Content-Range` of a 206 answer. */
  range: { start: number; total: number } | undefined;
  /** The URL that answered (after redirects). */
  url: URL;
}

/** The URL without credentials, query or fragment, for messages (tokens live in the query). */
export function shortUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`.slice(0, 120);
}

const systemResolver: Resolver = async (hostname) =>
  (await systemLookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The address to connect to for `url`: the IP literal, or the first address of the name — after
 * every address of the name passed the check. Throws `FORBIDDEN` (one line naming the address and
 * why) or `NOT_FOUND` (no address).
 */
export async function vetUrlHost(
  url: URL,
  options: Pick<UrlFetchOptions, 'action' | 'allow' | 'resolve'>,
): Promise<{ address: string; family: 4 | 6 }> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = isIpLiteral(host);
  let addresses: string[];
  if (literal) addresses = [host];
  else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new DsError('NOT_FOUND', `${options.action}: URL host ${host} not found (${code})`, {
        cause: error,
      });
    }
  }
  const first = addresses[0];
  if (first === undefined)
    throw new DsError('NOT_FOUND', `${options.action}: URL host ${host} not found (no address)`);
  for (const address of addresses) {
    const why = addressRefusal(address, options.allow);
    if (why === undefined) continue;
    const what = literal ? why : `${address}, ${why}`;
    throw new DsError(
      'FORBIDDEN',
      `${options.action}: URL host ${host} is ${what}; allow it with URL_ALLOW_NETS`,
    );
  }
  return { address: first, family: isIPv6(first) ? 6 : 4 };
}

/** A `lookup` for the request that answers the vetted address only. */
function pinnedLookup(vetted: { address: string; family: 4 | 6 }): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, [{ address: vetted.address, family: vetted.family }]);
    else callback(null, vetted.address, vetted.family);
  }) as LookupFunction;
}

function get(
  url: URL,
  vetted: { address: string; family: 4 | 6 },
  options: UrlFetchOptions,
): Promise<IncomingMessage> {
  const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'one-gfs2clvm' };
  if (options.range) headers.range = `bytes=${options.range.start}-${options.range.end}`;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: 'GET',
      // A fresh connection each time: a pooled socket would skip this request's lookup.
      agent: false,
      lookup: pinnedLookup(vetted),
      headers,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const idle = options.idleTimeoutMs;
    if (idle !== undefined)
      request.setTimeout(idle, () => request.destroy(new Error(`no data for ${idle / 1000} s`)));
    request.on('response', resolve);
    request.on('error', reject);
    request.end();
  });
}

/** The next URL of a redirect: http/https, no credentials; relative locations resolved. */
function redirectTarget(from: URL, location: string, action: string): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new DsError('EXEC', `download ${shortUrl(from)}: redirect to an invalid URL`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:')
    throw new DsError('UNSUPPORTED', `${action}: redirect to ${next.protocol} refused (http, https)`);
  if (next.username !== '' || next.password !== '')
    throw new DsError('INVALID_ARGUMENT', `${action}: redirect to a URL with user:password refused`);
  return next;
}

function byteCount(text: string | undefined): number | undefined {
  return text !== undefined && /^[0-9]{1,16}$/.test(text) ? Number(text) : undefined;
}

/**
 * GETs `url` through vetted connections (see the top of this file) and returns the answer of a
 * 2xx status; fails with one line on a refused address, a network error, too many redirects or an
 * HTTP error (`NOT_FOUND` for 404).
 */
export async function fetchUrl(url: URL, options: UrlFetchOptions): Promise<UrlResponse> {
  let current = url;
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:')
      throw new DsError('UNSUPPORTED', `${current.protocol} URLs are not supported (http, https)`);
    const vetted = await vetUrlHost(current, options);
    let response: IncomingMessage;
    try {
      response = await get(current, vetted, options);
    } catch (error) {
      throw new DsError('EXEC', `download ${shortUrl(current)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const status = response.statusCode ?? 0;
    if (REDIRECT.has(status)) {
      response.destroy();
      const location = response.headers.location;
      if (location === undefined)
        throw new DsError('EXEC', `download ${shortUrl(current)}: HTTP ${status} without Location`);
      if (hop >= MAX_REDIRECTS)
        throw new DsError('EXEC', `download ${shortUrl(url)}: more than ${MAX_REDIRECTS} redirects`);
      const next = redirectTarget(current, location, options.action);
      options.log?.(`${shortUrl(current)}: HTTP ${status}, redirected to ${shortUrl(next)}`);
      current = next;
      continue;
    }
    if (status < 200 || status > 299) {
      response.destroy();
      throw new DsError(
        status === 404 ? 'NOT_FOUND' : 'EXEC',
        `download ${shortUrl(current)}: HTTP ${status}`,
      );
    }
    const encoding = response.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      response.destroy();
      throw new DsError(
        'UNSUPPORTED',
        `download ${shortUrl(current)}: Content-Encoding ${encoding.slice(0, 20)}`,
      );
    }
    const range = /^bytes ([0-9]{1,16})-[0-9]{1,16}\/([0-9]{1,16})$/.exec(
      response.headers['content-range'] ?? '',
    );
    return {
      body: response,
      status,
      length: byteCount(response.headers['content-length']),
      range: status === 206 && range ? { start: Number(range[1]), total: Number(range[2]) } : undefined,
      url: current,
    };
  }
}
