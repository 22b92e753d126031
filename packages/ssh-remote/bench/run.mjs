// Benchmark: SshRunner (built dist) against the OpenSSH client, on a throw-away local sshd.
// Run: pnpm --filter @one-gfs2clvm/ssh-remote bench   (builds dist first; prints a markdown table)
// Ratios are from one run each; the machine's load shows in them.
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { SshRunner } from '../dist/index.js';
import { startTestSshd } from '../dist/testing.js';

const COMMANDS = Number(process.env.BENCH_COMMANDS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 1024) * 1024 * 1024;

/** Runs argv (stdout discarded), resolves when it exited 0; `stdin` may be another process's stdout. */
function spawnAndWait(file, args, { stdin = 'ignore' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: [stdin, 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited ${code}: ${stderr}`)),
    );
  });
}

async function timed(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const devNull = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

const zeros = () =>
  createReadStream('/dev/zero', { start: 0, end: STREAM_BYTES - 1, highWaterMark: 1024 * 1024 });

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const sshd = await startTestSshd();
const ssh = sshd.sshArgv();
// OpenSSH as OpenNebula's drivers run it (its shipped ~oneadmin/.ssh/config): one master connection
// per host (ControlPath per user, host and port: %C), kept 70 s after its last client.
const controlDir = mkdtempSync(join(tmpdir(), 'ssh-remote-bench-'));
const controlPath = join(controlDir, 'ctl-%C.sock');
const sshMux = [
  ssh[0],
  '-o',
  'ControlMaster=auto',
  '-o',
  `ControlPath=${controlPath}`,
  '-o',
  'ControlPersist=70s',
  ...ssh.slice(1),
];
const rows = [];
const muxRows = [];
const phaseRows = [];
try {
  // Warm both paths once (page cache, sshd's first fork), not counted.
  await spawnAndWait(ssh[0], [...ssh.slice(1), 'true']);
  const warm = new SshRunner(sshd.runnerOptions('bench'));
  await warm.run(['true']);
  await warm.close();

  // 1. Sequential small commands. Ours includes opening its connection, as a driver process would.
  const oursCommands = await timed(async () => {
    const runner = new SshRunner(sshd.runnerOptions('bench'));
    for (let i = 0; i < COMMANDS; i++) await runner.run(['true']);
    await runner.close();
  });
  const sshCommands = await timed(async () => {
    for (let i = 0; i < COMMANDS; i++) await spawnAndWait(ssh[0], [...ssh.slice(1), 'true']);
  });
  rows.push([
    `${COMMANDS} sequential \`true\``,
    `${oursCommands.toFixed(0)} ms (${(oursCommands / COMMANDS).toFixed(1)} ms each)`,
    `${sshCommands.toFixed(0)} ms (${(sshCommands / COMMANDS).toFixed(1)} ms each)`,
    `${(sshCommands / oursCommands).toFixed(1)}× faster`,
    '≥ 5×',
  ]);

  // 2. Streaming into a remote command's stdin.
  const mib = STREAM_BYTES / 1024 / 1024;
  const runner = new SshRunner(sshd.runnerOptions('bench'));
  await runner.run(['true']);
  const oursUp = await timed(() => runner.run(['sh', '-c', 'cat > /dev/null'], { stdin: zeros() }));
  // The baseline is `head -c N /dev/zero | ssh host 'cat > /dev/null'`: a kernel pipe, no Node in between.
  const sshUp = await timed(async () => {
    const head = spawn('head', ['-c', String(STREAM_BYTES), '/dev/zero'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await spawnAndWait(ssh[0], [...ssh.slice(1), 'cat > /dev/null'], { stdin: head.stdout });
  });
  const rate = (ms) => `${(mib / (ms / 1000)).toFixed(0)} MiB/s`;
  rows.push([
    `${mib} MiB into \`cat > /dev/null\``,
    `${oursUp.toFixed(0)} ms, ${rate(oursUp)}`,
    `${sshUp.toFixed(0)} ms, ${rate(sshUp)}`,
    `${(sshUp / oursUp).toFixed(2)}× the throughput`,
    '≥ 0.8×',
  ]);

  // 3. Streaming out of a remote command's stdout (for information; no target).
  const oursDown = await timed(() =>
    runner.run(['head', '-c', String(STREAM_BYTES), '/dev/zero'], { stdout: devNull() }),
  );
  const sshDown = await timed(() =>
    spawnAndWait(ssh[0], [...ssh.slice(1), `head -c ${STREAM_BYTES} /dev/zero`]),
  );
  rows.push([
    `${mib} MiB out of \`head -c … /dev/zero\``,
    `${oursDown.toFixed(0)} ms, ${rate(oursDown)}`,
    `${sshDown.toFixed(0)} ms, ${rate(sshDown)}`,
    `${(sshDown / oursDown).toFixed(2)}× the throughput`,
    '—',
  ]);
  await runner.close();

  // 4. Sequential small commands over a warm connection on both sides: SshRunner's pooled connection
  // against `ssh` through a ControlMaster that is already up. Interleaved rounds, medians.
  await spawnAndWait(sshMux[0], [...sshMux.slice(1), 'true']); // starts the master
  const pooled = new SshRunner(sshd.runnerOptions('bench'));
  await pooled.run(['true']);
  const perCommand = { ours: [], mux: [], ratio: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const ours = await timed(async () => {
      for (let i = 0; i < COMMANDS; i++) await pooled.run(['true']);
    });
    const mux = await timed(async () => {
      for (let i = 0; i < COMMANDS; i++) await spawnAndWait(sshMux[0], [...sshMux.slice(1), 'true']);
    });
    perCommand.ours.push(ours / COMMANDS);
    perCommand.mux.push(mux / COMMANDS);
    perCommand.ratio.push(mux / ours);
  }
  muxRows.push([
    `${COMMANDS} sequential \`true\`, warm, ${ROUNDS} rounds`,
    `${median(perCommand.ours).toFixed(1)} ms each`,
    `${median(perCommand.mux).toFixed(1)} ms each`,
    `${median(perCommand.ratio).toFixed(2)}× faster (rounds ${perCommand.ratio.map((r) => r.toFixed(2)).join(', ')})`,
    '≥ 2×',
  ]);

  // 5. Where one of our commands spends its time: the phases of each `run(['true'])` on the pooled
  // connection, timed around its SshConnection (a private field: this is a measurement, not API).
  const connection = pooled.connection;
  const exec = connection.exec.bind(connection);
  let current;
  connection.exec = async (command, options) => {
    current.execCalled = performance.now();
    const remote = await exec(command, options);
    current.opened = performance.now();
    remote.channel.stderr.once('data', () => {
      current.pidLine ??= performance.now();
    });
    remote.channel.once('exit', () => {
      current.exit = performance.now();
    });
    remote.channel.once('close', () => {
      current.closed = performance.now();
    });
    return remote;
  };
  const samples = [];
  for (let i = 0; i < COMMANDS * ROUNDS; i++) {
    current = { start: performance.now() };
    await pooled.run(['true']);
    current.done = performance.now();
    samples.push(current);
  }
  connection.exec = exec;
  const phase = (name, from, to) =>
    phaseRows.push([name, median(samples.map((s) => s[to] - s[from])).toFixed(2)]);
  phase('`run()` to the channel request (checks, slot, command string)', 'start', 'execCalled');
  phase('channel open + exec request answered (one round trip)', 'execCalled', 'opened');
  phase("the host's shell starts and prints the PID line", 'opened', 'pidLine');
  phase('`exec setpriv` → `exec timeout` → fork + exec `true` → exit status', 'pidLine', 'exit');
  phase('exit status → channel closed', 'exit', 'closed');
  phase('channel closed → `run()` resolved', 'closed', 'done');
  phase('whole `run()`', 'start', 'done');
  await pooled.close();
} finally {
  await spawnAndWait(sshMux[0], ['-o', `ControlPath=${controlPath}`, '-O', 'exit', ...ssh.slice(1)]).catch(
    () => {},
  );
  rmSync(controlDir, { recursive: true, force: true });
  await sshd.stop();
}

console.log('| scenario | SshRunner | OpenSSH `ssh` per command | ours ÷ baseline | target |');
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(
  '\n| scenario | SshRunner | OpenSSH `ssh` over a warm ControlMaster | ours ÷ baseline | target |',
);
console.log('|---|---|---|---|---|');
for (const row of muxRows) console.log(`| ${row.join(' | ')} |`);
console.log(`\n| one \`run(['true'])\` on a warm connection, median of ${COMMANDS * ROUNDS} | ms |`);
console.log('|---|---|');
for (const row of phaseRows) console.log(`| ${row.join(' | ')} |`);
console.log(
  `\nnode ${process.version}, ${new Date().toISOString()}, load average ${loadavg()[0].toFixed(1)}`,
);
