// `npm test`'s test step. One emulated cluster for the whole run; every test file but the serial
// and own-cluster testbed suites (SERIAL_TESTBED_SUITES, OWN_CLUSTER_TESTBED_SUITES in
// vitest.shared.ts) two at a time, then the serial suites alone while the own-cluster suites run
// beside them. Two workers because this machine has two cores and a test file mostly waits on one
// emulated host while the other core idles; the serial suites uninstall the host helper or write the
// plain VG, which would pull the ground from under a suite running beside them; the own-cluster
// suites boot two more guests, which slowed every suite of the two-worker lane and fit beside the
// serial lane's single worker. After each lane, its test files' wall times, longest first.
//
// Arguments (file filters, vitest options) or TESTBED_SKIP=1: a plain `vitest run`, one lane.
// A cluster that is already up (a developer's `pnpm testbed up`) is used and left up; one booted
// here is stopped at the end, also after a failure or a signal.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitestBin = join(root, 'node_modules', '.bin', 'vitest');

/**
 * Runs vitest with extra environment; resolves to its exit code. `output`: a file for its output
 * instead of this process's (a lane that runs beside another).
 */
function vitest(args, env = {}, output) {
  return new Promise((resolveCode) => {
    const file = output ? createWriteStream(output) : undefined;
    const child = spawn(vitestBin, ['run', ...args], {
      cwd: root,
      stdio: file ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      env: { ...process.env, ...env },
    });
    if (file) {
      child.stdout.pipe(file, { end: false });
      child.stderr.pipe(file, { end: false });
    }
    child.on('close', (code, signal) => {
      file?.end();
      resolveCode(code ?? (signal ? 1 : 0));
    });
  });
}

/** Runs one lane with vitest's JSON report next to its usual output, then prints its files' times. */
async function lane(name, workers, output) {
  const scratch = mkdtempSync(join(tmpdir(), `one-gfs2clvm-lane-${name}-`));
  const report = join(scratch, 'report.json');
  const args = [`--maxWorkers=${workers}`, '--minWorkers=1', '--reporter=default', '--reporter=json'];
  const code = await vitest(
    [...args, `--outputFile.json=${report}`],
    { TESTBED_REUSE: '1', TESTBED_LANE: name },
    output,
  );
  if (output) process.stdout.write(readFileSync(output, 'utf8'));
  printFileTimes(name, report);
  rmSync(scratch, { recursive: true, force: true });
  log(`test: ${name} lane exit ${code}`);
  return code;
}

/** The lane's test files over 10 s, longest first, with the lane's sum (from vitest's JSON report). */
function printFileTimes(name, report) {
  if (!existsSync(report)) return;
  const files = JSON.parse(readFileSync(report, 'utf8')).testResults ?? [];
  const times = files
    .map((f) => ({
      file: relative(root, f.name),
      seconds: Math.round(((f.endTime ?? 0) - (f.startTime ?? 0)) / 1000),
    }))
    .sort((a, b) => b.seconds - a.seconds);
  const total = times.reduce((sum, t) => sum + t.seconds, 0);
  log(`test: ${name} lane, ${times.length} files, ${total} s of file time; over 10 s:`);
  for (const t of times.filter((t) => t.seconds > 10)) log(`  ${String(t.seconds).padStart(5)} s  ${t.file}`);
}

const log = (line) => process.stderr.write(`${line}\n`);

async function main() {
  const args = process.argv.slice(2);
  if (args.length > 0 || process.env.TESTBED_SKIP === '1') return vitest(args);

  const { down, status, up } = await import(join(root, 'tools', 'testbed', 'dist', 'index.js'));
  let bootedHere = false;
  const stop = async () => {
    if (!bootedHere) return;
    bootedHere = false;
    log('test: stopping the cluster this run booted');
    await down();
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      stop().finally(() => process.exit(1));
    });
  }
  try {
    if ((await status()).up) {
      log('test: a cluster is up already: using it (left up at the end)');
    } else {
      // The same cluster tools/testbed's vitest global setup boots (TESTBED_HOSTS, TESTBED_GFS2,
      // TESTBED_LOCK_TYPE choose it there too).
      const cluster = await up({
        hosts: process.env.TESTBED_HOSTS ? Number(process.env.TESTBED_HOSTS) : 2,
        gfs2: process.env.TESTBED_GFS2 ?? 'dlm',
        lockType: process.env.TESTBED_LOCK_TYPE ?? 'sanlock',
        plainVg: true,
        log,
      });
      bootedHere = true;
      await cluster.close();
    }
    const started = performance.now();
    const parallel = await lane('parallel', 2);
    log('test: now the serial testbed suites, and beside them the suites with a cluster of their own');
    const ownLog = join(mkdtempSync(join(tmpdir(), 'one-gfs2clvm-own-')), 'vitest.log');
    const [serial, own] = await Promise.all([lane('serial', 1), lane('own', 1, ownLog)]);
    rmSync(dirname(ownLog), { recursive: true, force: true });
    log(`test: the lanes took ${Math.round((performance.now() - started) / 1000)} s`);
    return parallel || serial || own;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`test: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
