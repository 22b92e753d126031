import type { Readable, Writable } from 'node:stream';
import { LocalRunner, type Runner } from '@one-gfs2clvm/ssh-remote';
import { type DriverConfig, loadConfig } from './config.js';
import type { ActionContext } from './context.js';
import { DriverError } from './errors.js';
import { HostPool } from './hosts.js';
import { Log, redactSecrets, singleLine } from './log.js';
import { CliOneClient } from './one-cli.js';
import type { OneClient } from './one-client.js';

/**
 * The largest payload oned sends an action (a DS_DRIVER_ACTION_DATA of an image used by thousands
 * of VMs lists them all), decoded.
 */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
/** What an action reads from stdin at most: that payload in base64, plus a line end. */
export const MAX_STDIN_BYTES = Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4 + 2;

export interface RunActionOptions<One extends OneClient = OneClient> {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** The driver configuration file (the TM driver's, for both drivers; missing: defaults). */
  configPath: string;
  /** Replaces the OpenNebula CLI client (tests of the dispatcher). */
  one?: One;
  /** Replaces the configuration file. */
  config?: DriverConfig;
  /** Replaces the SSH connection to a host (unit tests pass `FakeRunner`s). */
  connect?: (host: string) => Runner;
}

/** The context an action of a driver whose oned client is `One` gets (the CLI client by default). */
export type DriverContext<One extends OneClient> = ActionContext & { one: One | CliOneClient };

/**
 * What one driver (TM, DS) puts into the skeleton of `runDriverAction`. Methods, not function
 * properties: each driver's checks take its own narrower name types.
 */
export interface DriverSpec<Name extends string, Input, One extends OneClient> {
  /** The driver kind word of the unknown-action line: `TM`, `DS`. */
  kind: string;
  isActionName(name: string): boolean;
  isSupported(name: string): name is Name;
  /** The one line of an action oned may call that the driver does not support. */
  unsupportedReason(name: string): string;
  /**
   * The action's input from its argv (and stdin, when the driver reads it up front), checked before
   * the configuration is read or any host is contacted; and how the action reads stdin later.
   */
  input(
    name: Name,
    argv: readonly string[],
    readStdin: () => Promise<string>,
  ): Promise<{ input: Input; readStdin: () => Promise<string> }>;
  actions: Record<Name, (ctx: DriverContext<One>, input: Input) => Promise<void>>;
  /** The one plain stderr line of a failure. */
  userLine(error: unknown): string;
  /** The `ERROR:` lines of a failure, for oned.log. */
  diagnostics(error: unknown): string[];
  /** The exit code of a failure (2 for wrong usage, 1 otherwise). */
  exitCode(error: unknown): number;
}

/**
 * The skeleton both drivers run an action in: the action name checked (unknown or unsupported: one
 * line, exit 1), the input, the configuration, one host pool for the process (closed whatever
 * happens), the action; a failure becomes `ERROR:` diagnostics then exactly one plain stderr line
 * for the user (one_tm.rb / one_datastore.rb make it the message). Returns the exit code.
 */
export async function runDriverAction<Name extends string, Input, One extends OneClient>(
  spec: DriverSpec<Name, Input, One>,
  name: string,
  argv: readonly string[],
  options: RunActionOptions<One>,
): Promise<number> {
  const log = new Log(options.stderr, name);
  if (!spec.isActionName(name)) {
    options.stderr.write(
      `${redactSecrets(singleLine(name).slice(0, 60))}: not a gfs2clvm ${spec.kind} action\n`,
    );
    return 1;
  }
  if (!spec.isSupported(name)) {
    options.stderr.write(`${spec.unsupportedReason(name)}\n`);
    return 1;
  }
  let hosts: HostPool | undefined;
  try {
    const { input, readStdin } = await spec.input(name, argv, () => readStdinCapped(options.stdin, name));
    const config = options.config ?? loadConfig(options.configPath);
    const actionLog = new Log(options.stderr, name, { debug: config.debug });
    hosts = new HostPool(config, options.connect, config.debug ? (line) => actionLog.debug(line) : undefined);
    const ctx: DriverContext<One> = {
      action: name,
      config,
      one: options.one ?? new CliOneClient(new LocalRunner()),
      hosts,
      log: actionLog,
      readStdin,
      stdout: options.stdout,
    };
    await spec.actions[name](ctx, input);
    return 0;
  } catch (error) {
    for (const line of spec.diagnostics(error)) log.error(line);
    options.stderr.write(`${redactSecrets(spec.userLine(error))}\n`);
    return spec.exitCode(error);
  } finally {
    await hosts?.closeAll();
  }
}

/**
 * All of stdin as text, at most `max` bytes: past that the action stops reading (the stream is
 * destroyed, nothing more is read from a writer that never ends) and fails with one line. The one
 * reader of both drivers' stdin.
 */
export async function readStdinCapped(
  stream: Readable,
  action: string,
  max: number = MAX_STDIN_BYTES,
): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      bytes += buffer.length;
      // Leaving the loop destroys the stream.
      if (bytes > max)
        throw new DriverError(
          'INVALID_ARGUMENT',
          `${action}: stdin over ${max} bytes (the payload limit): not read further`,
        );
      chunks.push(buffer);
    }
  } catch (error) {
    if (DriverError.isInstance(error)) throw error;
    throw new DriverError('EXEC', `${action}: cannot read stdin: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return Buffer.concat(chunks).toString('utf8');
}
