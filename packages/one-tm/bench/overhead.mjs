// Benchmark 1: per-action overhead of `ln` + `delete` of a persistent disk on the testbed — the
// built driver (one process per action, one SSH connection per host) against
// baseline-ln-delete.sh (the same LVM calls, one `ssh` process per command, like the bash drivers).
// Needs a running testbed (`pnpm testbed up`) and `pnpm --filter @one-gfs2clvm/one-tm build`.
// Ratio = driver ÷ baseline, medians of BENCH_ROUNDS (default 5) rounds, from one run.
// BENCH_LOCK_MODE=lvmlockd skips the driver's per-action lock-mode read (vgs); BENCH_TRACE=1 prints
// every host command of the driver with its duration.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attach } from '@one-gfs2clvm/testbed';

const here = dirname(fileURLToPath(import.meta.url));
const actions = join(here, '..', 'dist', 'remotes', 'tm', 'gfs2clvm');
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const VG = 'vg-one-100';
const vm = 600; // one-tm perf/bench ids: 600–699
const image = `lv-oneimg-${vm}`;
const vmDir = `/var/lib/one/datastores/100/${vm}`;

const cluster = await attach();
const node1 = cluster.host('node1');
const root = node1.runner('root');
const dir = mkdtempSync(join(tmpdir(), 'one-tm-bench-'));
const bin = join(dir, 'bin');
mkdirSync(bin);
writeFileSync(
  join(dir, 'ssh_config'),
  `Host node1\n  HostName 127.0.0.1\n  Port ${node1.sshPort}\n  User root\n  IdentityFile ${node1.identityFile}\n`,
);
writeFileSync(
  join(dir, 'gfs2clvm.conf'),
  `SSH_USER=root\nLVM_BACKEND=lvm\nLVM_PREFIX=lvm\nSSH_CONFIG=${join(dir, 'ssh_config')}\nSSH_KNOWN_HOSTS=${node1.knownHostsFile}\nFRONTEND_HOSTS=fe\nLOCK_MODE=${process.env.BENCH_LOCK_MODE ?? 'auto'}\nDEBUG=yes\n`,
);
const answers = {
  onevm: `<VM><ID>${vm}</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE><TEMPLATE><DISK><DISK_ID>0</DISK_ID><TYPE>BLOCK</TYPE><PERSISTENT>YES</PERSISTENT><SOURCE>${VG}/${image}</SOURCE></DISK></TEMPLATE></VM>`,
  onedatastore:
    '<DATASTORE><ID>100</ID><NAME>sys</NAME><TYPE>1</TYPE><CLUSTERS><ID>0</ID></CLUSTERS><TEMPLATE></TEMPLATE></DATASTORE>',
};
for (const [name, xml] of Object.entries(answers)) {
  writeFileSync(join(dir, `${name}.xml`), xml);
  writeFileSync(join(bin, name), `#!/bin/sh\nexec cat ${join(dir, `${name}.xml`)}\n`);
  chmodSync(join(bin, name), 0o755);
}
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, GFS2CLVM_CONF: join(dir, 'gfs2clvm.conf') };

await root.run(['mkdir', '-p', '/var/lib/one/datastores/100'], { timeoutMs: 60_000 });
await root.run(['lvcreate', '-y', '--setautoactivation', 'n', '-an', '-L', '8m', '-n', image, VG], {
  timeoutMs: 300_000,
});

function timed(argv, extraEnv = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env: { ...env, ...extraEnv }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  if (process.env.BENCH_TRACE) process.stderr.write(r.stderr);
  commands.push(r.stderr.split('\n').filter((l) => / → exit /.test(l)).length);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const driverTimes = [];
const commands = []; // host commands per action run (from the DEBUG trace)
const baselineTimes = [];
try {
  for (let i = 0; i < rounds; i++) {
    driverTimes.push(
      timed([join(actions, 'ln'), `fe:${VG}/${image}`, `node1:${vmDir}/disk.0`, String(vm), '101']) +
        timed([join(actions, 'delete'), `node1:${vmDir}/disk.0`, String(vm), '101']),
    );
    const ssh = node1.sshArgv('root').join(' ');
    baselineTimes.push(
      timed([join(here, 'baseline-ln-delete.sh'), VG, image, vmDir, 'one_active_node1'], { SSH: ssh }),
    );
  }
} finally {
  await root.run(['lvremove', '-y', `${VG}/${image}`], { reject: false, timeoutMs: 300_000 });
  await root.run(['rm', '-rf', vmDir], { reject: false, timeoutMs: 60_000 });
  await cluster.close();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const d = median(driverTimes);
const b = median(baselineTimes);
console.log(
  `| ln + delete of a persistent disk, median of ${rounds}, LOCK_MODE=${process.env.BENCH_LOCK_MODE ?? 'auto'} | seconds |`,
);
console.log('| --- | --- |');
console.log(`| driver (2 processes, 1 SSH connection each) | ${d.toFixed(2)} |`);
console.log(`| bash style (10 ssh processes) | ${b.toFixed(2)} |`);
console.log(`| ratio driver ÷ bash style (target ≤ 0.5) | ${(d / b).toFixed(2)} |`);
// commands holds ln, delete, baseline (0: no trace) per round.
const perPair = commands.filter((_, i) => i % 3 !== 2);
console.log(
  `host commands of the driver per ln + delete: ${(perPair.reduce((a, c) => a + c, 0) / rounds).toFixed(0)} (bash style: 10)`,
);
