import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { HarnessError } from './errors.js';
import type { CommandRecord } from './executor.js';
import { formatMessage, protocolLines, type Result } from './messages.js';
import { ActionQueue } from './queue.js';
import { rubyToI } from './ruby.js';
import type { InfoRules } from './stderr.js';

/** What both front-ends take. */
export interface DriverOptions {
  /** The remotes directory, like `/var/lib/one/remotes` (holds `tm/<driver>/…`, `datastore/<driver>/…`). */
  remotesDir: string;
  /** `-t`: actions running at once, the rest queue FIFO. Default 15. */
  concurrency?: number;
  /** Working directory of the scripts. Default: the parent of `remotesDir` (`/var/lib/one`). */
  cwd?: string;
  /** Environment of the scripts (the driver's own, inherited). Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Also write every protocol line here, as the driver writes to oned. */
  output?: Writable;
  /** `7` (default): the 7.x stderr rules; `6`: those of 6.2 – 6.10 (see `InfoRules`). */
  infoRules?: InfoRules;
}

/** The outcome of one protocol action (a TRANSFER or a DS action). */
export interface ActionResult {
  action: string;
  id: string;
  /**
   * The reply as printed (several lines only if a DS script printed several); absent when the real
   * driver would send none (cancelled, crashed).
   */
  reply?: string;
  result?: Result;
  /** The reply's INFO as the driver built it (a DS script's stdout verbatim, final newline included). */
  info?: string;
  /** Every protocol line this action printed (LOG lines and the reply), in order. */
  lines: string[];
  /** The scripts run, in order. */
  commands: CommandRecord[];
  cancelled: boolean;
  /** Why no reply was sent when the real driver's thread would have died with an exception. */
  crash?: string;
}

export function checkConcurrency(concurrency: number | undefined): number {
  const value = concurrency ?? 15;
  if (!Number.isInteger(value) || value < 1) {
    throw new HarnessError('INVALID_ARGUMENT', `concurrency must be a positive integer, got ${value}`);
  }
  return value;
}

/** An id or argument as one protocol word: non-empty, no whitespace (the wire splits on it). */
export function checkWord(what: string, value: number | string): string {
  const text = String(value);
  if (!/^[^ \t\n\v\f\r]+$/.test(text)) {
    throw new HarnessError(
      'INVALID_ARGUMENT',
      `${what} must be one word without blanks, got ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/** Sub-directories of `dir` (what `Dir["dir/*\/"]` lists): the driver list when none is given. */
export function listDrivers(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => {
    if (name.startsWith('.')) return false;
    try {
      return statSync(join(dir, name)).isDirectory();
    } catch {
      return false;
    }
  });
}

export function defaultCwd(remotesDir: string): string {
  return dirname(remotesDir);
}

/**
 * The driver's stdout: keeps every line (`lines`), tells listeners, copies to `output`. A message
 * is written whole, like `send_message` under its mutex, so concurrent actions never interleave
 * inside one message.
 */
export class ProtocolOutput {
  readonly lines: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();
  private readonly sink: Writable | undefined;

  constructor(sink?: Writable) {
    this.sink = sink;
  }

  /** Prints a message; returns it as it appears on the wire (lines joined, no final newline). */
  send(message: string, collector?: string[]): string {
    const lines = protocolLines(message);
    this.lines.push(...lines);
    collector?.push(...lines);
    this.sink?.write(`${lines.join('\n')}\n`);
    for (const line of lines) for (const listener of this.listeners) listener(line);
    return lines.join('\n');
  }

  /** Call `listener` with every future line; returns the unsubscribe function. */
  onLine(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** What both front-ends share: the output, the action queue, INIT and DRIVER_CANCEL. */
export class DriverBase {
  readonly output: ProtocolOutput;
  readonly infoRules: InfoRules;
  protected readonly queue: ActionQueue;

  constructor(options: DriverOptions) {
    this.infoRules = options.infoRules ?? '7';
    this.queue = new ActionQueue(checkConcurrency(options.concurrency));
    this.output = new ProtocolOutput(options.output);
  }

  /** Every protocol line printed so far. */
  get lines(): string[] {
    return this.output.lines;
  }

  /** `INIT`: an action like the others (it takes a slot), answered `INIT SUCCESS - -`. */
  init(): Promise<void> {
    return this.queue.submit(
      0,
      async (context) => {
        if (!context.cancelled) this.output.send(formatMessage('INIT', 'SUCCESS', '-'));
      },
      () => undefined,
    );
  }

  /**
   * `DRIVER_CANCEL <id>`: a queued action is dropped, a running one detached (its script runs on,
   * unreported, and its slot is freed); either way only `Driver command for <id> cancelled` is logged.
   */
  cancel(id: number | string): void {
    const key = rubyToI(String(id));
    this.queue.cancel(key);
    this.output.send(formatMessage('LOG', 'I', String(key), `Driver command for ${key} cancelled`));
  }

  /** Resolves when no action is queued or running. */
  idle(): Promise<void> {
    return this.queue.idle();
  }
}
