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
    this.#out.write(`${level}: ${this.#prefix}: ${singleLine(message)}\n`);
  }
}

/** Collapses control characters (newlines from a remote stderr) into blanks. */
export function singleLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}
