import { existsSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { onUncaught } from '@one-gfs2clvm/errors';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runCommands } from './commands.js';
import { type CheckResult, formatCheck } from './doctor/check.js';
import { frontendDoctor } from './doctor/frontend.js';
import { hostDoctor } from './doctor/host.js';
import { type InstallOutcome, type Item, install, type RunContext, uninstall } from './engine.js';
import { InstallerError } from './errors.js';
import { type Exec, localExec } from './exec.js';
import { DEFAULTS, FRONTEND_PATHS, HOST_PATHS, MANIFEST_PATH } from './layout.js';
import { type Role, readManifest } from './manifest.js';
import { frontendItems, frontendOwnedDirs, ONED_CONF_NOTE, VMM_EXECRC_NOTE } from './roles/frontend.js';
import {
  DEFAULT_HOST_OPTIONS,
  type HostOptions,
  hostCommandsAfterInstall,
  hostCommandsAfterUninstall,
  hostCommandsBeforeUninstall,
  hostItems,
  QEMU_CONF_NOTE,
} from './roles/host.js';
import { runnerExec, sshRunner } from './ssh.js';
import { ExecTarget, LocalTarget, type Target } from './target.js';
import { type LockType, vgCreateArgv } from './vg-create.js';

const VERSION = '0.1.0';

export interface CliIo {
  exec: Exec;
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CliIo = {
  exec: localExec,
  out: (line) => process.stdout.write(line.endsWith('\n') ? line : `${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function parsePositiveInteger(value: string): number {
  if (!/^[1-9][0-9]{0,6}$/.test(value)) throw new InvalidArgumentError('a positive integer is expected');
  return Number(value);
}

function parseRoot(value: string): string {
  return resolve(value);
}

interface TargetFlags {
  root: string;
  dryRun?: boolean;
  ssh: string[];
  sshUser?: string;
  sshConfig?: string;
  knownHosts?: string;
}

/** One place to work on: this machine (under --root) or each host given with --ssh. */
interface Place {
  context: RunContext;
  close: () => Promise<void>;
}

function places(flags: TargetFlags, io: CliIo): Place[] {
  const dryRun = flags.dryRun === true;
  if (flags.ssh.length > 0) {
    if (flags.root !== '/') throw new InstallerError('USAGE', '--root and --ssh exclude each other');
    return flags.ssh.map((host) => {
      const runner = sshRunner(host, {
        ...(flags.sshUser ? { user: flags.sshUser } : {}),
        ...(flags.sshConfig ? { sshConfigFile: resolve(flags.sshConfig) } : {}),
        ...(flags.knownHosts ? { knownHostsFile: resolve(flags.knownHosts) } : {}),
      });
      // Every line names its host, diffs included, so the output of several hosts can be told apart.
      const print = (text: string) =>
        io.out(
          text
            .replace(/\n$/, '')
            .split('\n')
            .map((line) => `${host}: ${line}`)
            .join('\n'),
        );
      return {
        context: { target: new ExecTarget(host, runnerExec(runner)), dryRun, print },
        close: () => runner.close(),
      };
    });
  }
  if (flags.root === '/' && !dryRun && process.getuid?.() !== 0) {
    throw new InstallerError(
      'USAGE',
      'run as root to change this system (or pass --root DIR, --ssh HOSTS or --dry-run)',
    );
  }
  if (flags.root !== '/' && !existsSync(flags.root))
    throw new InstallerError('USAGE', `--root ${flags.root} does not exist`);
  return [
    {
      context: { target: new LocalTarget(flags.root, io.exec), dryRun, print: io.out },
      close: async () => {},
    },
  ];
}

/** Runs `work` on every place in turn; a failing host does not stop the others, but fails the run. */
async function onEveryPlace(
  flags: TargetFlags,
  io: CliIo,
  work: (context: RunContext) => Promise<void>,
): Promise<void> {
  const all = places(flags, io);
  const failed: string[] = [];
  for (const place of all) {
    try {
      await work(place.context);
    } catch (error) {
      if (all.length === 1) throw error;
      const message = error instanceof Error ? error.message : String(error);
      io.err(`one-gfs2clvm: ${place.context.target.name}: ${message}`);
      failed.push(place.context.target.name);
    } finally {
      await place.close();
    }
  }
  if (failed.length > 0) throw new InstallerError('COMMAND', `failed on ${failed.join(', ')}`);
}

const systemdRunning = async (target: Target) => (await target.mode('/run/systemd/system')) !== null;

function addTargetFlags(command: Command): Command {
  return command
    .option('--root <dir>', 'work under another root directory (tests, images)', parseRoot, '/')
    .option('--dry-run', 'print a unified diff of every change and change nothing')
    .option(
      '--ssh <hosts>',
      'host role: work on these hosts over SSH (comma-separated; hosts need no Node.js)',
      list,
      [],
    )
    .option('--ssh-user <name>', 'user on the hosts (default: from ~/.ssh/config, else root)')
    .option('--ssh-config <file>', 'ssh_config file (HostName, Port, User, IdentityFile)')
    .option('--known-hosts <file>', 'known_hosts file (host keys are always checked)');
}

const list = (value: string) => value.split(',').filter(Boolean);

interface HostFlags {
  user: string;
  group: string;
  vgPattern: string;
  lvPattern: string[];
  polkit: HostOptions['polkit'];
  datastoreLocation: string;
}

function hostOptions(flags: HostFlags): HostOptions {
  return {
    ...DEFAULT_HOST_OPTIONS,
    user: flags.user,
    group: flags.group,
    vgPattern: flags.vgPattern,
    lvPatterns: flags.lvPattern.length > 0 ? flags.lvPattern : [...DEFAULTS.lvPatterns],
    polkit: flags.polkit,
    datastoreLocation: flags.datastoreLocation,
  };
}

const collect = (value: string, previous: string[]) => [...previous, value];

function roleOption() {
  return new Option('--role <role>', 'host (hypervisor) or frontend (where oned runs)').choices([
    'host',
    'frontend',
  ]);
}

function addHostFlags(command: Command): Command {
  return command
    .option('--user <name>', 'the OpenNebula user that runs the drivers and qemu', DEFAULTS.user)
    .option('--group <name>', 'its group', DEFAULTS.group)
    .option('--vg-pattern <glob>', "the driver's VGs (the helper refuses others)", DEFAULTS.vgPattern)
    .option(
      '--lv-pattern <glob>',
      "the driver's LVs, repeatable (default: lv-one-* and lv-oneimg-*)",
      collect,
      [],
    )
    .addOption(
      new Option('--polkit <flavour>', 'polkit rule format')
        .choices(['auto', 'rules', 'pkla', 'none'])
        .default('auto'),
    )
    .option(
      '--datastore-location <dir>',
      "host: the GFS2 mount (install makes it the user's when it is GFS2)",
      DEFAULTS.datastoreLocation,
    );
}

export function buildProgram(io: CliIo = defaultIo): Command {
  const program = new Command('one-gfs2clvm')
    .description('Install, check and remove the gfs2clvm OpenNebula storage drivers (clustered LVM + GFS2)')
    .version(VERSION)
    .showHelpAfterError('(one-gfs2clvm --help shows the usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();
  addInstallCommand(program, io);
  addUninstallCommand(program, io);
  addDoctorCommand(program, io);
  addVgCreateCommand(program, io);
  return program;
}

type InstallFlags = TargetFlags & HostFlags & { role: Role; drivers: boolean; driversFrom?: string };

function addInstallCommand(program: Command, io: CliIo): void {
  addTargetFlags(
    addHostFlags(
      program
        .command('install')
        .description('lay down the front-end or host part; a second run changes nothing')
        .addOption(roleOption().makeOptionMandatory())
        .option(
          '--no-drivers',
          'front-end: only register the driver and write its config (no action scripts)',
        )
        .option(
          '--drivers-from <dir>',
          'front-end: take the action scripts from <dir>/tm/gfs2clvm and <dir>/datastore/gfs2clvm',
        ),
    ),
  ).action((flags: InstallFlags) => runInstall(flags, io));
}

async function runInstall(flags: InstallFlags, io: CliIo): Promise<void> {
  if (flags.role === 'frontend' && flags.ssh.length > 0) {
    throw new InstallerError('USAGE', '--ssh is for the host role; run the front-end role where oned runs');
  }
  const options = hostOptions(flags);
  await onEveryPlace(flags, io, async (ctx) => {
    const frontend = {
      drivers: flags.drivers,
      ...(flags.driversFrom ? { driversFrom: resolve(flags.driversFrom) } : {}),
    };
    const items: Item[] =
      flags.role === 'host' ? await hostItems(options, ctx) : await frontendItems(frontend);
    const outcome: InstallOutcome = await install(items, ctx, {
      ownedDirs: flags.role === 'frontend' ? frontendOwnedDirs(frontend) : [],
    });
    const failures =
      flags.role === 'host'
        ? await runCommands(
            hostCommandsAfterInstall(outcome.changed, options, await systemdRunning(ctx.target)),
            ctx,
          )
        : [];
    if (outcome.changed.includes(HOST_PATHS.qemuConf)) ctx.print(QEMU_CONF_NOTE);
    if (outcome.changed.includes(FRONTEND_PATHS.onedConf)) ctx.print(ONED_CONF_NOTE);
    else if (outcome.changed.includes(FRONTEND_PATHS.vmmExecrc)) ctx.print(VMM_EXECRC_NOTE);
    ctx.print(
      `${flags.dryRun ? 'dry run: would change' : 'changed'} ${outcome.changed.length} file(s)` +
        (outcome.keptChanged.length > 0 ? `, kept ${outcome.keptChanged.length} changed by the admin` : ''),
    );
    if (failures.length > 0) throw new InstallerError('COMMAND', `files installed, but ${failures[0]}`);
  });
}

function addUninstallCommand(program: Command, io: CliIo): void {
  addTargetFlags(
    addHostFlags(
      program
        .command('uninstall')
        .description('remove exactly what install laid down and restore the edited keys')
        .addOption(roleOption()),
    ),
  ).action(async (flags: TargetFlags & HostFlags & { role?: Role }) => {
    await onEveryPlace(flags, io, async (ctx) => {
      const manifest = await readManifest(ctx.target);
      if (!manifest) {
        ctx.print(`nothing to uninstall: no manifest at ${MANIFEST_PATH}`);
        return;
      }
      const failures = await runCommands(hostCommandsBeforeUninstall(Object.keys(manifest.files)), ctx);
      const outcome = await uninstall(ctx, flags.role ? [flags.role] : undefined);
      const after = hostCommandsAfterUninstall(
        outcome.changed,
        hostOptions(flags),
        await systemdRunning(ctx.target),
      );
      failures.push(...(await runCommands(after, ctx)));
      if (outcome.changed.includes(HOST_PATHS.qemuConf))
        ctx.print(QEMU_CONF_NOTE.replace('to run as oneadmin', 'to run as before'));
      ctx.print(
        `${flags.dryRun ? 'dry run: would change' : 'changed'} ${outcome.changed.length} file(s)` +
          (outcome.kept.length > 0 ? `, kept ${outcome.kept.length} changed since the install` : ''),
      );
      if (failures.length > 0) throw new InstallerError('COMMAND', failures[0] ?? 'a command failed');
    });
  });
}

type DoctorFlags = Omit<TargetFlags, 'dryRun'> & {
  role: Role;
  user: string;
  vgPattern: string;
  datastoreLocation: string;
  testLv?: string;
  expectedLvs?: number;
  hosts: string[];
};

function addDoctorCommand(program: Command, io: CliIo): void {
  program
    .command('doctor')
    .description('check a host or the front-end; one line per check with what to do')
    .addOption(roleOption().default('host'))
    .option('--user <name>', 'the OpenNebula user', DEFAULTS.user)
    .option('--vg-pattern <glob>', "the driver's VGs", DEFAULTS.vgPattern)
    .option('--datastore-location <dir>', 'where GFS2 is mounted on hosts', DEFAULTS.datastoreLocation)
    .option(
      '--test-lv <vg>',
      'host: create and remove a small LV in <vg> through the helper to test the udev rule',
    )
    .option(
      '--expected-lvs <n>',
      'host: warn when a VG metadata area cannot hold this many LVs',
      parsePositiveInteger,
    )
    .option(
      '--hosts <names>',
      'front-end: comma-separated hosts to reach over SSH as the OpenNebula user',
      list,
      [],
    )
    .option('--root <dir>', 'front-end: check an installation under another root directory', parseRoot, '/')
    .option('--ssh <hosts>', 'host role: check these hosts over SSH (comma-separated)', list, [])
    .option('--ssh-user <name>', 'user on the hosts (default: from ~/.ssh/config, else root)')
    .option('--ssh-config <file>', 'ssh_config file (HostName, Port, User, IdentityFile)')
    .option('--known-hosts <file>', 'known_hosts file (host keys are always checked)')
    .action((flags: DoctorFlags) => runDoctor(flags, io));
}

async function runDoctor(flags: DoctorFlags, io: CliIo): Promise<void> {
  let failed = 0;
  const report = (ctx: RunContext, results: CheckResult[]) => {
    for (const result of results) ctx.print(formatCheck(result));
    failed += results.filter((r) => r.status === 'FAIL').length;
  };
  if (flags.role === 'frontend') {
    if (flags.root !== '/' && !existsSync(flags.root)) {
      throw new InstallerError('USAGE', `--root ${flags.root} does not exist`);
    }
    const target = new LocalTarget(flags.root, io.exec);
    report(
      { target, dryRun: false, print: io.out },
      await frontendDoctor({ target, user: flags.user, hosts: flags.hosts }),
    );
  } else {
    // Doctor only reads (and, with --test-lv, makes and removes an LV through the helper).
    if (flags.root !== '/') throw new InstallerError('USAGE', 'doctor --root is for --role frontend');
    await onEveryPlace({ ...flags, root: '/', dryRun: true }, io, async (ctx) => {
      report(
        ctx,
        await hostDoctor({
          target: ctx.target,
          user: flags.user,
          vgPattern: flags.vgPattern,
          datastoreLocation: flags.datastoreLocation,
          ...(flags.testLv ? { testLvVg: flags.testLv } : {}),
          ...(flags.expectedLvs ? { expectedLvs: flags.expectedLvs } : {}),
        }),
      );
    });
  }
  if (failed > 0) throw new DoctorFailed(failed);
}

function addVgCreateCommand(program: Command, io: CliIo): void {
  program
    .command('vg-create')
    .description('create a VG for a new cluster: shared (lvmlockd), metadata area sized for the LV count')
    .argument('<vg>', 'VG name, e.g. vg-one-100')
    .argument('<devices...>', 'the shared LUN(s), e.g. /dev/mapper/mpatha')
    .requiredOption(
      '--expected-lvs <n>',
      'how many LVs the VG must hold (images + VM disks)',
      parsePositiveInteger,
    )
    .addOption(
      new Option('--lock-type <type>', 'lvmlockd lock manager, or none for a plain VG')
        .choices(['sanlock', 'dlm', 'none'])
        .default('sanlock'),
    )
    .option('--dry-run', 'print the command and run nothing')
    .action(
      async (
        vg: string,
        devices: string[],
        flags: { expectedLvs: number; lockType: LockType; dryRun?: boolean },
      ) => {
        const argv = vgCreateArgv({ vg, devices, expectedLvs: flags.expectedLvs, lockType: flags.lockType });
        if (flags.dryRun) {
          io.out(`would run: ${argv.join(' ')}`);
          return;
        }
        const result = await io.exec(argv, { timeoutMs: 600_000 });
        if (result.stdout) io.out(result.stdout.trimEnd());
        if (result.exitCode !== 0) {
          throw new InstallerError(
            'COMMAND',
            `vgcreate failed (exit ${result.exitCode}): ${result.stderr.trim().split('\n')[0] ?? ''}`,
          );
        }
        io.out(`created ${vg}; on every other host run: vgchange --lockstart ${vg}`);
      },
    );
}

class DoctorFailed extends Error {
  constructor(readonly failed: number) {
    super(`${failed} check(s) failed`);
  }
}

/**
 * The last resort of the CLI process (the bin installs it before `main`): an exception nobody
 * caught or a promise nobody awaited becomes its stack on `ERROR:` lines, then the one line
 * `one-gfs2clvm: unexpected failure: <message>` (last), and exit 1 — never Node's bare stack trace.
 */
export function installLastResort(
  err: (line: string) => void = (line) => writeSync(2, `${line}\n`),
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  onUncaught((error) => {
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    for (const line of stack.split('\n').slice(0, 12)) if (line.trim() !== '') err(`ERROR: ${line.trim()}`);
    const message = error instanceof Error ? error.message : String(error);
    err(`one-gfs2clvm: unexpected failure: ${message.replace(/\s+/g, ' ').trim()}`);
  }, exit);
}

/** Runs the CLI; resolves with the exit code (0 ok, 1 failure, 2 usage). Errors are one line on stderr. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
        ? 0
        : 2;
    }
    if (error instanceof DoctorFailed) {
      io.err(`one-gfs2clvm: doctor: ${error.message}`);
      return 1;
    }
    if (InstallerError.isInstance(error)) {
      io.err(`one-gfs2clvm: ${error.message}`);
      return error.code === 'USAGE' ? 2 : 1;
    }
    io.err(`one-gfs2clvm: ${(error as Error).message}`);
    return 1;
  }
}
