#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type FrontEnd, setUpFrontEnd } from '@one-gfs2clvm/one-harness/testbed';
import { attach, type Cluster, down, status, up } from '@one-gfs2clvm/testbed';
import { DemoError } from './errors.js';
import { DEMO_IDS, leftoverNames, narrateLifeCycle, removeLeftovers } from './life-cycle.js';
import { narrateLocking } from './locking.js';
import { createNarrator } from './narrator.js';

/**
 * `npm run demo`: boots the virtual SAN cluster (tools/testbed, default options), narrates clustered
 * LVM's lock modes and GFS2, then a VM disk life cycle driven through the oned stand-ins running the
 * built drivers, and stops the cluster it booted — also when a step fails or on Ctrl-C.
 * `TESTBED_REUSE=1` attaches to a running cluster and leaves it up.
 */
const n = createNarrator();
let phase: 'start' | 'booting' | 'up' | 'stopping' = 'start';
let booted = false;

/** Ctrl-C while `up` holds the state lock: a detached `testbed down` takes over once we are gone. */
function downAfterExit(): void {
  const require = createRequire(import.meta.url);
  const cli = join(dirname(require.resolve('@one-gfs2clvm/testbed/package.json')), 'dist', 'cli.js');
  spawn(process.execPath, [cli, 'down'], { detached: true, stdio: 'ignore' }).unref();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`demo: interrupted (${signal})${booted ? ': stopping the cluster' : ''}`);
    if (booted && phase === 'booting') downAfterExit();
    const stop = booted && phase === 'up' ? down() : Promise.resolve();
    stop.finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const reuse = process.env.TESTBED_REUSE === '1';
  const wasUp = (await status()).up;
  let cluster: Cluster;
  if (wasUp && reuse) {
    n.say('TESTBED_REUSE=1: attaching to the running virtual SAN cluster (left up afterwards)');
    cluster = await attach();
  } else if (wasUp) {
    throw new DemoError(
      'a testbed cluster is already up in this state folder: set TESTBED_REUSE=1 to use it, or stop it (pnpm testbed down)',
    );
  } else {
    n.say('booting the virtual SAN cluster: 2 emulated hosts (qemu) on one shared LUN');
    booted = true;
    phase = 'booting';
    cluster = await up({ log: (line) => n.say(line) });
  }
  phase = 'up';
  let fe: FrontEnd | undefined;
  let failure: unknown;
  try {
    n.say('════ part 1: clustered LVM lock modes and GFS2, by hand on the hosts');
    await narrateLocking(n, cluster);
    n.say('════ part 2: a VM disk life cycle, driven as oned drives the gfs2clvm drivers');
    // Root over SSH with plain LVM, as the demo narrates it; no DEBUG lines in what it shows.
    fe = await setUpFrontEnd({ cluster, asRoot: true, debug: false });
    n.say(
      `front-end: the built action scripts under ${fe.remotesDir}, one_tm.rb and one_datastore.rb stand-ins,`,
    );
    n.say(
      '           oned answered by a fake CLI (onevm show -x …); the driver runs as root with LVM_BACKEND=lvm',
    );
    await narrateLifeCycle(n, cluster, fe, DEMO_IDS);
  } catch (error) {
    failure = error;
    await removeLeftovers(cluster, cluster.sharedVg, leftoverNames(cluster, DEMO_IDS)).catch(() => {});
  } finally {
    await fe?.remove();
    await cluster.close();
    if (booted) {
      phase = 'stopping';
      n.say('clean shutdown of the cluster');
      await down();
    } else {
      n.say('the cluster was already up: left running (`pnpm testbed down` stops it)');
    }
  }
  if (failure) throw failure;
  n.say(`done in ${n.elapsed().toFixed(0)} s`);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`demo: ${message.split('\n')[0]}`);
  process.exitCode = 1;
});
