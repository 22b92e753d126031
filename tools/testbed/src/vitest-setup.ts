import { attach, down, status, up } from './lifecycle.js';
import type { Gfs2Mode, LockType } from './options.js';

/**
 * A vitest `globalSetup` for every project with testbed-backed tests (`*.testbed.test.ts`). The
 * cluster boots once per test run although several projects list this file: they all run in
 * vitest's main process, so a process-wide record counts the users; concurrent first calls are
 * serialised by `up`'s lock on the state folder. The last teardown stops the cluster, and only if
 * this run booted it: a cluster that was already up (a developer's `pnpm testbed up`) stays up.
 *
 * Environment: `TESTBED_REUSE=1` attaches to the running cluster (booting one if none) and never
 * stops it; `TESTBED_HOSTS` (default 2), `TESTBED_GFS2` (`dlm`, `nolock`, `none`; default `dlm`) and
 * `TESTBED_LOCK_TYPE` (`sanlock` or `dlm`; default `sanlock`) choose the cluster; `TESTBED_DIR` its
 * state folder. Tests reach it with `attach()`.
 */
interface RunRecord {
  users: number;
  bootedHere: boolean;
  ready?: Promise<void>;
}

const KEY = Symbol.for('@one-gfs2clvm/testbed/vitest-setup');
const registry = globalThis as typeof globalThis & { [KEY]?: RunRecord };

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function start(record: RunRecord): Promise<void> {
  const reuse = process.env.TESTBED_REUSE === '1';
  const before = await status();
  if (reuse && before.up) {
    await (await attach()).close();
    log('testbed: TESTBED_REUSE=1: using the running cluster (left up at the end)');
    return;
  }
  const cluster = await up({
    hosts: process.env.TESTBED_HOSTS ? Number(process.env.TESTBED_HOSTS) : 2,
    gfs2: (process.env.TESTBED_GFS2 as Gfs2Mode | undefined) ?? 'dlm',
    lockType: (process.env.TESTBED_LOCK_TYPE as LockType | undefined) ?? 'sanlock',
    plainVg: true,
    log,
  });
  await cluster.close();
  record.bootedHere = !before.up && !reuse;
}

export default async function setup(): Promise<() => Promise<void>> {
  let record = registry[KEY];
  if (!record) {
    record = { users: 0, bootedHere: false };
    registry[KEY] = record;
  }
  const current = record;
  current.users += 1;
  current.ready ??= start(current);
  try {
    await current.ready;
  } catch (error) {
    current.users -= 1;
    throw error;
  }
  return async () => {
    current.users -= 1;
    if (current.users > 0 || !current.bootedHere) return;
    log('testbed: stopping the cluster this test run booted');
    await down();
  };
}
