// Benchmark 1: per-action overhead of `ln` + `delete` of a persistent disk on the testbed — the
// built driver (one process per action, one SSH connection per host) against
// baseline-ln-delete.sh (the same LVM calls, one `ssh` process per command, like the bash drivers).
// Needs a running testbed (`pnpm testbed up`; the installer's host role is laid down when missing)
// and `pnpm --filter @one-gfs2clvm/one-tm build`.
// Ratio = driver ÷ baseline, medians of BENCH_ROUNDS (default 5) rounds, driver and baselines
// alternated, from one run. Two baselines: as root (no sudo), and as oneadmin with `sudo -n` before
// each LVM command (the 2012 driver's sudoers rules, OpenNebula fs_lvm's `$SUDO $LVCHANGE`; a
// sudoers rule for oneadmin's lvs/lvchange is laid down on node1 for the run and removed after).
// With BENCH_BACKEND=helper the driver runs as oneadmin through sudo too: the second is the
// comparison with the same privileges on both sides; the first is kept for the earlier figures.
// A third baseline (since issue 18) is what OpenNebula's own drivers really pay: the same script as
// oneadmin + sudo, its ssh with OpenNebula's client configuration (`ControlMaster auto`,
// `ControlPersist 70s`, `ControlPath …/ssh-socks/ctl-M-%C.sock`: one master per host, every command
// multiplexed over it) and the master warm, as in a busy cloud (opened before each timed run,
// untimed). That one carries the target (driver ≤ 0.5× of it).
//   BENCH_BACKEND=helper (default: as production, oneadmin and the host helper through sudo) or
//     lvm (root, plain LVM, as the baseline script runs)
//   BENCH_LOCK_MODE=auto (default) or lvmlockd (no lock-mode read of its own in the driver)
//   BENCH_DRIVER_DIR=<dir of the built TM actions> (default: this package's dist)
//   BENCH_COMPARE_DIR=<dir of other built TM actions>, e.g. an older build: measured in the same
//     rounds (driver, other driver, baseline), so both see the same load
//   BENCH_TRACE=1 prints every host command of the driver with its duration.
//   BENCH_CONNECT_TIMEOUT=<seconds> the drivers' SSH_CONNECT_TIMEOUT (default 20).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setUpFrontEnd } from '@one-gfs2clvm/one-harness/testbed';

const here = dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const backend = process.env.BENCH_BACKEND ?? 'helper';
const lockMode = process.env.BENCH_LOCK_MODE ?? 'auto';
if (!['helper', 'lvm'].includes(backend)) throw new Error(`BENCH_BACKEND=${backend}: helper or lvm`);
const VG = 'vg-one-100';
const vm = 600; // one-tm perf/bench ids: 600–699
const image = `lv-oneimg-${vm}`;
const dsDir = '/var/lib/one/datastores/100';
const vmDir = `${dsDir}/${vm}`;
const tag = 'one_active_node1';

// The front-end of @one-gfs2clvm/one-harness/testbed with node1 only (its SSH config, gfs2clvm.conf,
// oned's fake CLI): the actions are run here directly, one process each, as oned runs them.
const fe = await setUpFrontEnd({
  hosts: ['node1'],
  drivers: ['one-tm'],
  asRoot: backend === 'lvm',
  config: [`LOCK_MODE=${lockMode}`],
  // The default (20 s) is not always enough for a handshake with a TCG guest on a loaded machine.
  connectTimeout: Number(process.env.BENCH_CONNECT_TIMEOUT ?? 20),
});
const { cluster, dir, user } = fe;
const node1 = cluster.host('node1');
const root = node1.runner('root');
// A private copy of the built actions: a rebuild of dist/ meanwhile cannot change what is measured.
const actions = join(dir, 'tm');
cpSync(process.env.BENCH_DRIVER_DIR ?? join(here, '..', 'dist', 'remotes', 'tm', 'gfs2clvm'), actions, {
  recursive: true,
});
const compare = process.env.BENCH_COMPARE_DIR ? join(dir, 'tm-compare') : undefined;
if (compare) cpSync(process.env.BENCH_COMPARE_DIR, compare, { recursive: true });
await fe.oned.setVm(
  vm,
  `<VM><ID>${vm}</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE><TEMPLATE><DISK><DISK_ID>0</DISK_ID><TYPE>BLOCK</TYPE><PERSISTENT>YES</PERSISTENT><SOURCE>${VG}/${image}</SOURCE></DISK></TEMPLATE></VM>`,
);
// OpenNebula's shipped client configuration for oneadmin (share/ssh/config: StrictHostKeyChecking
// accept-new, ServerAliveInterval 10, ControlMaster auto, ControlPersist 70s, ControlPath
// /run/one/ssh-socks/ctl-M-%C.sock — here under the bench's own directory), with the testbed's
// address, key and known hosts.
mkdirSync(join(dir, 'ssh-socks'), { mode: 0o700 });
const cmConfig = join(dir, 'ssh_config_opennebula');
writeFileSync(
  cmConfig,
  [
    'Host node1',
    '  HostName 127.0.0.1',
    `  Port ${node1.sshPort}`,
    '  User oneadmin',
    `  IdentityFile ${node1.identityFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${node1.knownHostsFile}`,
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  ServerAliveInterval 10',
    '  ControlMaster auto',
    '  ControlPersist 70s',
    `  ControlPath ${join(dir, 'ssh-socks', 'ctl-M-%C.sock')}`,
    '',
  ].join('\n'),
);
const cmSsh = ['ssh', '-F', cmConfig, 'node1'];
const env = fe.env;

const lenient = { reject: false, timeoutMs: 300_000 };
const benchSudoers = '/etc/sudoers.d/one-tm-bench-baseline';
await root.run(
  [
    'sh',
    '-c',
    'printf "%s\\n" "oneadmin ALL=(root) NOPASSWD: /usr/sbin/lvs, /usr/sbin/lvchange" > "$1" && chmod 0440 "$1" && visudo -cf "$1"',
    'sudoers',
    benchSudoers,
  ],
  { timeoutMs: 60_000 },
);
await root.run(['lvremove', '-y', `${VG}/${image}`], lenient);
await root.run(['rm', '-rf', vmDir], lenient);
await root.run(['lvcreate', '-y', '--setautoactivation', 'n', '-an', '-L', '8m', '-n', image, VG], {
  timeoutMs: 300_000,
});

let commands = []; // host commands per run of an action (from the DEBUG trace)
function timed(argv, extraEnv = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env: { ...env, ...extraEnv }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  if (process.env.BENCH_TRACE) process.stderr.write(r.stderr);
  commands.push(r.stderr.split('\n').filter((l) => / → exit /.test(l)).length);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The state ln must leave (root's view): active here with the host's tag, disk.0 → the image. */
async function checkLinked() {
  const lv = await root.run(
    ['lvs', '--noheadings', '--separator', ':', '-o', 'lv_active_locally,lv_tags', `${VG}/${image}`],
    { timeoutMs: 300_000 },
  );
  const link = await root.run(['readlink', `${vmDir}/disk.0`], lenient);
  // one_written (the marker that a VM may have written the image) comes with the host tag.
  if (
    lv.stdout.trim() !== `active locally:${tag},one_written` ||
    link.stdout.trim() !== `/dev/${VG}/${image}`
  )
    throw new Error(`after ln: lvs "${lv.stdout.trim()}", disk.0 → "${link.stdout.trim()}"`);
}

/** ln + delete with the actions in `tm`: [seconds, host commands]. */
async function lnDelete(tm, check) {
  const before = commands.length;
  const ln = timed([join(tm, 'ln'), `fe:${VG}/${image}`, `node1:${vmDir}/disk.0`, String(vm), '101']);
  if (check) await checkLinked();
  const del = timed([join(tm, 'delete'), `node1:${vmDir}/disk.0`, String(vm), '101']);
  const count = commands.slice(before).reduce((a, c) => a + c, 0);
  commands = commands.slice(0, before);
  return [ln + del, count];
}

const driverTimes = [];
const compareTimes = [];
const baselineTimes = [];
const sudoBaselineTimes = [];
const cmBaselineTimes = [];
const driverCommands = [];
const compareCommands = [];
try {
  for (let i = 0; i < rounds; i++) {
    const [d, n] = await lnDelete(actions, i === 0);
    driverTimes.push(d);
    driverCommands.push(n);
    if (compare) {
      const [c, m] = await lnDelete(compare, i === 0);
      compareTimes.push(c);
      compareCommands.push(m);
    }
    const script = [join(here, 'baseline-ln-delete.sh'), VG, image, vmDir, tag];
    baselineTimes.push(timed(script, { SSH: node1.sshArgv('root').join(' ') }));
    // The VM dir stays between runs; made by root (the driver with BENCH_BACKEND=lvm, or the root
    // baseline), oneadmin could not link in it. Not timed.
    await root.run(['chown', '-R', 'oneadmin:oneadmin', vmDir], lenient);
    sudoBaselineTimes.push(timed(script, { SSH: node1.sshArgv('oneadmin').join(' '), SUDO: 'sudo -n' }));
    // Warm master, as in a busy cloud: opened (or kept) by an untimed command first.
    const warm = spawnSync(cmSsh[0], [...cmSsh.slice(1), 'true'], { encoding: 'utf8' });
    if (warm.status !== 0) throw new Error(`ssh master to node1 failed (${warm.status}): ${warm.stderr}`);
    cmBaselineTimes.push(timed(script, { SSH: cmSsh.join(' '), SUDO: 'sudo -n' }));
    console.error(
      `round ${i + 1}: driver ${d.toFixed(2)} s (${n} host commands)${compare ? `, other driver ${compareTimes[i].toFixed(2)} s (${compareCommands[i]})` : ''}, baseline root ${baselineTimes[i].toFixed(2)} s, oneadmin + sudo ${sudoBaselineTimes[i].toFixed(2)} s, OpenNebula ssh (warm ControlMaster) + sudo ${cmBaselineTimes[i].toFixed(2)} s`,
    );
  }
  // Neither active nor tagged for a host (the marker one_written stays, as in production).
  const after = await root.run(['lvs', '--noheadings', '-o', 'lv_active,lv_tags', `${VG}/${image}`], lenient);
  if (after.stdout.trim() !== 'one_written')
    throw new Error(`after delete: the image is "${after.stdout.trim()}"`);
} finally {
  await root.run(['lvremove', '-y', `${VG}/${image}`], lenient);
  await root.run(['rm', '-rf', vmDir], lenient);
  await root.run(['rm', '-f', benchSudoers], lenient);
  spawnSync(cmSsh[0], [...cmSsh.slice(1, -1), '-O', 'exit', 'node1'], { encoding: 'utf8' });
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// The load of a shared testbed changes from round to round: each round's own ratio, then their median.
const ratio = (times, base) => median(times.map((t, i) => t / base[i])).toFixed(2);
// The target: driver ≤ 0.5× of the script OpenNebula's drivers would run (warm ControlMaster, sudo).
const cmLabel =
  'bash style over OpenNebula ssh (ControlMaster auto, ControlPersist 70s, warm), oneadmin, `sudo -n` for LVM';
console.log(
  `| ln + delete of a persistent disk, ${rounds} rounds, LVM_BACKEND=${backend} (${user}), LOCK_MODE=${lockMode} | host commands | median s | ÷ bash style as root | ÷ bash style as oneadmin + sudo | **÷ ${cmLabel} (target ≤ 0.5)** |`,
);
console.log('| --- | --- | --- | --- | --- | --- |');
const row = (what, times, counts) =>
  console.log(
    `| ${what} | ${counts} | ${median(times).toFixed(2)} | ${ratio(times, baselineTimes)} | ${ratio(times, sudoBaselineTimes)} | **${ratio(times, cmBaselineTimes)}** |`,
  );
row(
  `${process.env.BENCH_DRIVER_DIR ? `driver ${process.env.BENCH_DRIVER_DIR}` : 'driver'} (2 processes, 1 SSH connection each)`,
  driverTimes,
  median(driverCommands),
);
if (compare)
  row(
    `driver ${process.env.BENCH_COMPARE_DIR} (2 processes, 1 SSH connection each)`,
    compareTimes,
    median(compareCommands),
  );
row('bash style (one ssh process and handshake per command), root', baselineTimes, 10);
row(
  'bash style (one ssh process and handshake per command), oneadmin, `sudo -n` for LVM',
  sudoBaselineTimes,
  10,
);
row(cmLabel, cmBaselineTimes, 10);
