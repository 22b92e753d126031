import type { Writable } from 'node:stream';

/**
 * Diagnostics for oned.log: `ERROR:`/`INFO:`/`DEBUG:` lines on stderr (one_tm.rb 7.x turns them into
 * `LOG` messages and keeps them out of the user's message). Every line is single-line by construction.
 */
export class Log {
  readonly #out: Writable;
  readonly #prefix: string;
  readonly #debug: boolean;

  constructor(out: Writable, action: string, options: { debug?: boolean } = {}) {
    this.#out = out;
    this.#prefix = action;
    this.#debug = options.debug ?? false;
  }

  info(message: string): void {
    this.#write('INFO', message);
  }

  error(message: string): void {
    this.#write('ERROR', message);
  }

  debug(message: string): void {
    if (this.#debug) this.#write('DEBUG', message);
  }

  /** Runs `step`, logging its duration (long steps: copies, wipes) at INFO. */
  async timed<T>(what: string, step: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await step();
    this.info(`${what} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return result;
  }

  #write(level: string, message: string): void {
    this.#out.write(`${level}: ${this.#prefix}: ${redactSecrets(singleLine(message))}\n`);
  }
}

/**
 * A URL in a text: scheme, `user:password@` (optional), the rest up to a query or fragment (the
 * query or fragment optional). Ends at white space or a quote: messages quote values with JSON.
 */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:[\\/]{2})([^\s/\\?#"']*@)?([^\s?#"'<>]*)([?#][^\s"'<>]*)?/gi;

/**
 * Every URL of `text` without its secrets: user information becomes `…@`, a query string or
 * fragment (presigned URLs carry their token there) `?…`. The one redaction of both drivers: every
 * line they write on stderr (`Log` lines, the user's line, the last resort's) passes through it.
 */
export function redactSecrets(text: string): string {
  return text.replace(
    URL_IN_TEXT,
    (_match, scheme: string, userinfo: string | undefined, rest: string, query: string | undefined) => {
      const path = rest.slice(rest.search(/[/\\]|$/));
      const hostAndPath = passwordCut(rest) ? `…${path}` : rest;
      return `${scheme}${userinfo ? '…@' : ''}${hostAndPath}${query ? '?…' : ''}`;
    },
  );
}

/**
 * Whether a URL's host part is `user:pass…` whose `@` was cut off (a value shortened for a
 * message): a colon not followed by a port number, outside an IPv6 address's brackets.
 */
function passwordCut(rest: string): boolean {
  const authority = (rest.split(/[/\\]/)[0] ?? '').replace(/^\[[^\]]*\]/, '');
  const colon = authority.indexOf(':');
  return colon >= 0 && !/^[0-9]*$/.test(authority.slice(colon + 1));
}

/** Collapses control characters (newlines from a remote stderr) into blanks. */
export function singleLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}
