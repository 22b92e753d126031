#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { quoteArgv } from '@one-gfs2clvm/ssh-remote';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { BlockMode } from './cluster.js';
import { TestbedError } from './errors.js';
import { attach, down, restartHost, status, up } from './lifecycle.js';
import { MAX_HOSTS } from './options.js';

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('not a positive integer');
  return Number(value);
}

const program = new Command('testbed')
  .description(
    'the virtual SAN cluster: emulated hosts under qemu on one shared LUN (lvmlockd + sanlock, GFS2)',
  )
  .showHelpAfterError();

program
  .command('up')
  .description('boot the cluster (or reuse the running one) and wait until every host and lockspace is ready')
  .addOption(new Option('--hosts <n>', `number of hosts (1–${MAX_HOSTS})`).argParser(positiveInt).default(2))
  .addOption(new Option('--lun-gib <n>', 'size of the shared LUN in GiB').argParser(positiveInt).default(4))
  .addOption(
    new Option('--gfs2 <mode>', 'GFS2 at /var/lib/one/datastores').choices(['dlm', 'nolock', 'none']),
  )
  .option('--plain-vg', 'also make a plain (non-shared) VG vg-plain on a second disk')
  .addOption(
    new Option('--lock-type <type>', 'lvmlockd lock manager of vg-one-100 (dlm needs --gfs2 dlm)')
      .choices(['sanlock', 'dlm'])
      .default('sanlock'),
  )
  .addOption(
    new Option('--accel <accel>', 'qemu accelerator (default $TESTBED_ACCEL or tcg)').choices(['tcg', 'kvm']),
  )
  .addOption(
    new Option('--cpus <n>', 'virtual CPUs per host (default $TESTBED_CPUS or 1)').argParser(positiveInt),
  )
  .action(
    async (o: {
      hosts: number;
      lunGib: number;
      gfs2?: 'dlm' | 'nolock' | 'none';
      plainVg?: boolean;
      lockType: 'sanlock' | 'dlm';
      accel?: 'tcg' | 'kvm';
      cpus?: number;
    }) => {
      const cluster = await up({
        hosts: o.hosts,
        lunGiB: o.lunGib,
        plainVg: o.plainVg ?? false,
        lockType: o.lockType,
        ...(o.gfs2 ? { gfs2: o.gfs2 } : {}),
        ...(o.accel ? { accel: o.accel } : {}),
        ...(o.cpus ? { cpus: o.cpus } : {}),
        log: (line) => console.log(line),
      });
      for (const h of cluster.hosts) console.log(`${h.name}\tssh -p ${h.sshPort} root@127.0.0.1`);
    },
  );

program
  .command('down')
  .description('stop every host and remove the state files (no qemu process or temp file left)')
  .action(async () => {
    await down();
    console.log('testbed: down');
  });

program
  .command('status')
  .description('hosts, ports and whether each is alive')
  .option('--json', 'machine-readable')
  .action(async (o: { json?: boolean }) => {
    const s = await status();
    if (o.json) {
      console.log(JSON.stringify(s, null, 2));
      return;
    }
    if (s.hosts.length === 0) {
      console.log(`testbed: not up (${s.dir})`);
      return;
    }
    console.log(
      `testbed: ${s.up ? 'up' : 'not complete'} (${s.dir}), GFS2 on ${s.gfs2Hosts.join(', ') || 'no host'}`,
    );
    for (const h of s.hosts) {
      console.log(
        `${h.name}\tport ${h.sshPort}\tpid ${h.pid}\t${h.alive ? (h.runState ?? 'alive') : 'dead'}`,
      );
    }
  });

program
  .command('ssh')
  .description(
    'run an argv on a host with the OpenSSH client (no argv: a login shell): ssh <host> [--user oneadmin] -- <argv…>',
  )
  .argument('<host>')
  .argument('[argv...]')
  .addOption(new Option('--user <user>', 'remote user').choices(['root', 'oneadmin']).default('root'))
  .action(async (name: string, argv: string[], o: { user: 'root' | 'oneadmin' }) => {
    const cluster = await attach();
    const host = cluster.host(name);
    // OpenSSH would join the argv with spaces for the remote shell: quote each word (ssh-remote's one
    // quoting function) so it arrives as the same argv. For shell syntax: `-- sh -c '…'`.
    const [cmd, ...args] = [...host.sshArgv(o.user), ...(argv.length > 0 ? ['--', quoteArgv(argv)] : [])];
    const child = spawn(cmd as string, args, { stdio: 'inherit' });
    process.exitCode = await new Promise<number>((resolve) =>
      child.on('exit', (code) => resolve(code ?? 255)),
    );
  });

for (const [verb, what] of [
  ['kill', 'SIGKILL the host’s qemu (a crash)'],
  ['pause', 'stop the host’s CPU (a hung host)'],
  ['resume', 'resume a paused host'],
  ['unblock-ssh', 'undo block-ssh'],
] as const) {
  program
    .command(verb)
    .description(what)
    .argument('<host>')
    .action(async (name: string) => {
      const cluster = await attach();
      const actions = {
        kill: () => cluster.kill(name),
        pause: () => cluster.pause(name),
        resume: () => cluster.resume(name),
        'unblock-ssh': () => cluster.unblockSsh(name),
      };
      await actions[verb]();
      console.log(`testbed: ${verb} ${name}: done`);
    });
}

program
  .command('restart')
  .description('boot a killed host again: lockspace started (after its old lease expired), GFS2 mounted')
  .argument('<host>')
  .action(async (name: string) => {
    await restartHost(name, undefined, (line) => console.log(line));
    console.log(`testbed: restart ${name}: done`);
  });

program
  .command('block-ssh')
  .description(
    'cut the host off from SSH: drop = its NIC link goes down (connections hang), refuse = port closed',
  )
  .argument('<host>')
  .addOption(new Option('--mode <mode>', 'how').choices(['drop', 'refuse']).default('drop'))
  .action(async (name: string, o: { mode: BlockMode }) => {
    await (await attach()).blockSsh(name, o.mode);
    console.log(`testbed: block-ssh ${name} (${o.mode}): done`);
  });

try {
  // pnpm passes a `--` before extra arguments when asked to; commander would take it for "end of options".
  const args = process.argv.slice(2);
  await program.parseAsync(args[0] === '--' ? args.slice(1) : args, { from: 'user' });
} catch (error) {
  if (TestbedError.isInstance(error)) {
    console.error(`testbed: ${error.message}`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
