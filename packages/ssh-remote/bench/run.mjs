// Benchmark: SshRunner (built dist) against the OpenSSH client, on a throw-away local sshd.
// Run: pnpm --filter @one-gfs2clvm/ssh-remote bench   (builds dist first; prints a markdown table)
// Ratios are from one run each; the machine's load shows in them.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { SshRunner } from '../dist/index.js';
import { startTestSshd } from '../dist/testing.js';

const COMMANDS = Number(process.env.BENCH_COMMANDS ?? 100);
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

const sshd = await startTestSshd();
const ssh = sshd.sshArgv();
const rows = [];
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
} finally {
  await sshd.stop();
}

console.log('| scenario | SshRunner | OpenSSH `ssh` per command | ours ÷ baseline | target |');
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(`\nnode ${process.version}, ${new Date().toISOString()}`);
