// `npm test`'s test step. One emulated cluster for the whole run; every test file but the serial
// testbed suites (SERIAL_TESTBED_SUITES in vitest.shared.ts) two at a time, then those alone.
// Two lanes because this machine has two cores and a test file mostly waits on one emulated host
// while the other core idles; the serial suites uninstall the host helper or write the plain VG,
// which would pull the ground from under a suite running beside them.
//
// Arguments (file filters, vitest options) or TESTBED_SKIP=1: a plain `vitest run`, one lane.
// A cluster that is already up (a developer's `pnpm testbed up`) is used and left up; one booted
// here is stopped at the end, also after a failure or a signal.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitestBin = join(root, 'node_modules', '.bin', 'vitest');

/** Runs vitest with extra environment; resolves to its exit code. */
function vitest(args, env = {}) {
  return new Promise((resolveCode) => {
    const child = spawn(vitestBin, ['run', ...args], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });
    child.on('exit', (code, signal) => resolveCode(code ?? (signal ? 1 : 0)));
  });
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
    const env = { TESTBED_REUSE: '1' };
    const parallel = await vitest(['--maxWorkers=2', '--minWorkers=1'], { ...env, TESTBED_LANE: 'parallel' });
    log(`test: parallel lane exit ${parallel}; now the serial testbed suites`);
    const serial = await vitest(['--maxWorkers=1', '--minWorkers=1'], { ...env, TESTBED_LANE: 'serial' });
    log(`test: serial lane exit ${serial}`);
    return parallel || serial;
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
