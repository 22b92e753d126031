#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { DsDriver } from './ds.js';
import { HarnessError } from './errors.js';
import { serveLines } from './line-protocol.js';
import type { InfoRules } from './stderr.js';
import { TmDriver } from './tm.js';

// Same default as the real drivers: $ONE_LOCATION/var/remotes, else /var/lib/one/remotes.
const defaultRemotes = process.env.ONE_LOCATION
  ? `${process.env.ONE_LOCATION}/var/remotes`
  : '/var/lib/one/remotes';

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number.parseInt(value, 10);
}

function list(value: string): string[] {
  return value.split(',').map((name) => name.trim());
}

interface CommonFlags {
  remotes: string;
  eofFinalizes?: boolean;
  infoRules: InfoRules;
  cwd?: string;
  threads: number;
  timeout?: number;
}

/** What both drivers take from the options of `frontEnd`. */
function driverOptions(flags: CommonFlags) {
  return {
    remotesDir: flags.remotes,
    ...(flags.cwd ? { cwd: flags.cwd } : {}),
    concurrency: flags.threads,
    infoRules: flags.infoRules,
  };
}

async function serve(driver: TmDriver | DsDriver, flags: CommonFlags): Promise<void> {
  const code = await serveLines(driver, process.stdin, process.stderr, {
    eofFinalizes: flags.eofFinalizes ?? false,
  });
  // Like `exit!`: do not wait for anything (a cancelled script may still be running, detached).
  process.exit(code);
}

const program = new Command('one-harness')
  .description('Speak the oned driver protocol on stdin/stdout like one_tm.rb / one_datastore.rb')
  .showHelpAfterError();

/** The options both front-ends take (plus `--eof-finalizes`, which only the harness has). */
function frontEnd(name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .option('-r, --remotes <dir>', 'remotes directory', defaultRemotes)
    .option('-C, --cwd <dir>', 'working directory of the scripts (default: parent of --remotes)')
    .option('-t, --threads <n>', 'concurrent actions', positiveInt, 15)
    .option('--eof-finalizes', 'on end of stdin wait for running actions (the real driver exits at once)')
    .addOption(
      new Option('--info-rules <version>', 'stderr-to-reply rules of OpenNebula 7.x or 6.2-6.10')
        .choices(['7', '6'])
        .default('7'),
    );
}

frontEnd('tm', 'TM front-end: INIT, TRANSFER <vmid> <file>, DRIVER_CANCEL <id>, FINALIZE')
  .option('-d, --tm-types <list>', 'accepted TM drivers (default: every directory in <remotes>/tm)', list)
  .option('-w, --timeout <s>', 'accepted and ignored, like one_tm.rb', positiveInt)
  .action(async (flags: CommonFlags & { tmTypes?: string[] }) => {
    await serve(
      new TmDriver({
        ...driverOptions(flags),
        ...(flags.tmTypes ? { drivers: flags.tmTypes } : {}),
        output: process.stdout,
      }),
      flags,
    );
  });

frontEnd('ds', 'DS front-end: INIT, <ACTION> <id> <base64 XML>, DRIVER_CANCEL <id>, FINALIZE')
  .option(
    '-d, --ds-types <list>',
    'accepted DS_MAD drivers (default: every directory in <remotes>/datastore)',
    list,
  )
  .option('-s, --system-ds-types <list>', 'accepted system-DS TM drivers for MONITOR', list)
  .option('-w, --timeout <s>', 'seconds before a script is terminated (0: never)', positiveInt)
  .option('--argv-payload', 'pass the base64 payload as argv[1] (OpenNebula <= 6.6) instead of stdin')
  .action(
    async (flags: CommonFlags & { dsTypes?: string[]; systemDsTypes?: string[]; argvPayload?: boolean }) => {
      await serve(
        new DsDriver({
          ...driverOptions(flags),
          ...(flags.dsTypes ? { drivers: flags.dsTypes } : {}),
          ...(flags.systemDsTypes ? { systemDrivers: flags.systemDsTypes } : {}),
          ...(flags.timeout === undefined ? {} : { timeoutSeconds: flags.timeout }),
          payload: flags.argvPayload ? 'argv' : 'stdin',
          output: process.stdout,
        }),
        flags,
      );
    },
  );

program.parseAsync().catch((error: unknown) => {
  const message = HarnessError.isInstance(error) ? error.message : String(error);
  process.stderr.write(`one-harness: ${message}\n`);
  process.exit(2);
});
