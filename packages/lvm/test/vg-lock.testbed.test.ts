import { readFileSync } from 'node:fs';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeTag, Lvm } from '../src/index.js';

// Issue 15: under oned's concurrency every metadata change of the shared VG (lvcreate, lvremove, a
// tag, lvchange) takes the VG lock ex for a moment, and on a loaded cluster the other host holds it
// again and again: lvmlockd retries 3 times, then "VG vg-one-100 lock failed: held by other host". An
// action must wait for the lock, not fail. Here both hosts, each with both back-ends (plain LVM as
// root, and the host helper of this tree copied to /tmp as the wipe suite does), change vg-one-100
// at once for DURATION_MS: create a small LV, activate it with a tag, deactivate it dropping the tag,
// remove it. Meanwhile node1 holds the VG lock ex for HOLD_S seconds, as a loaded host does: an
// `lvremove` of an active LV waits at its "really remove?" prompt with the VG lock taken, and is then
// answered no. Every operation must succeed. The workers allow 1 try (`attempts`), so that only the
// time budget for a held VG lock (`lockWaitMs`, default 180 s) can carry them through: one try
// against the held lock is refused after 25-35 s here (lvmlockd's own 3 retries), and a count of
// tries, which once bounded this wait, gives up after a hold of a few tries' length on any machine.
// Ids of this suite: 4700-4799.
const DURATION_MS = 30_000;
const HOLD_S = 75;
const HOLDER_LV = 'lv-one-4709-0';
const MiB = 2 ** 20;
const HELPER_ASSET = new URL('../../installer/assets/one-gfs2clvm-helper', import.meta.url);
const HOSTS = ['node1', 'node2'] as const;
const WORKERS = HOSTS.flatMap((host, h) =>
  (['lvm', 'helper'] as const).map((backend, b) => ({ host, backend, lv: `lv-one-${4700 + 2 * h + b}-0` })),
);

let cluster: Cluster;
let vg: string;
const root: Record<string, Runner> = {};
const helperDir: Record<string, string> = {};

/** Commands of the workers that lvmlockd refused because another host held the VG lock. */
const refused: string[] = [];

/** `runner`, noting each command that found the VG lock held by another host (and how long it took). */
function noting(runner: Runner): Runner {
  return {
    host: runner.host,
    close: () => runner.close(),
    run: async (argv, options) => {
      const started = Date.now();
      const result = await runner.run(argv, options);
      if (result.exitCode !== 0 && /held by other host/.test(result.stdout + result.stderr))
        refused.push(
          `${runner.host} ${argv.slice(0, 4).join(' ')} (${Math.round((Date.now() - started) / 1000)} s)`,
        );
      return result;
    },
  };
}

/** The `Lvm` of one worker: the library's default retries, but 1 try (see above). */
function lvmOf(host: string, backend: 'lvm' | 'helper'): Lvm {
  const runner = noting(root[host] as Runner);
  const retry = { attempts: 1 };
  return backend === 'lvm'
    ? new Lvm({ runner, retry })
    : new Lvm({ runner, retry, backend: 'helper', prefix: ['sh', `${helperDir[host]}/helper`] });
}

async function cleanUp(lv: string): Promise<void> {
  for (const host of HOSTS) {
    const lvm = new Lvm({ runner: root[host] as Runner });
    await lvm.ensureInactive(vg, lv).catch(() => undefined);
    await lvm.removeLvIfExists(vg, lv).catch(() => undefined);
  }
}

/** The LVs of this suite left in the VG (an interrupted run, a failed step), removed. */
async function cleanUpLeftovers(): Promise<void> {
  const mine = new Set([...WORKERS.map((w) => w.lv), HOLDER_LV]);
  const left = (await new Lvm({ runner: root.node1 as Runner }).listLvs(vg)).filter((l) => mine.has(l.name));
  await Promise.all(left.map((l) => cleanUp(l.name)));
}

beforeAll(async () => {
  cluster = await attach();
  vg = cluster.sharedVg;
  const script = readFileSync(HELPER_ASSET, 'utf8');
  for (const host of HOSTS) {
    const runner = cluster.host(host).runner('root');
    root[host] = runner;
    const dir = (await runner.run(['mktemp', '-d', '/tmp/one-gfs2clvm-helper-4700.XXXXXX'])).stdout.trim();
    helperDir[host] = dir;
    const own = script.replace(/^CONF=\/.*$/m, `CONF=${dir}/helper.conf`);
    await runner.run(['sh', '-c', 'cat >"$1"', 'put', `${dir}/helper`], { stdin: own });
  }
  await cleanUpLeftovers(); // of an interrupted run
}, 300_000);

afterAll(async () => {
  if (!cluster) return;
  await cleanUpLeftovers();
  for (const host of HOSTS)
    if (helperDir[host]) await root[host]?.run(['rm', '-rf', '--', helperDir[host]], { reject: false });
  await cluster.close();
}, 300_000);

interface Tally {
  done: number;
  failures: string[];
}

/** Create, activate with the host's tag, deactivate dropping it, remove — until `until`. */
async function churn(worker: (typeof WORKERS)[number], until: number, tally: Tally): Promise<void> {
  const { host, backend, lv } = worker;
  const lvm = lvmOf(host, backend);
  const tag = activeTag(host);
  const steps: Array<[string, () => Promise<unknown>]> = [
    ['create', () => lvm.createLv({ vg, lv, sizeBytes: 4 * MiB, activate: false })],
    ['activate', () => lvm.activateLv(vg, lv, 'exclusive', { addTags: [tag] })],
    ['deactivate', () => lvm.deactivateLv(vg, lv, { delTag: tag })],
    ['remove', () => lvm.removeLv(vg, lv)],
  ];
  while (Date.now() < until) {
    for (const [name, step] of steps) {
      try {
        await step();
        tally.done++;
      } catch (error) {
        tally.failures.push(`${backend} ${name}: ${error instanceof Error ? error.message : String(error)}`);
        await cleanUp(lv);
        break;
      }
    }
  }
}

/** node1 holds the VG lock ex for HOLD_S s: `lvremove` of an active LV, its prompt answered "n" late. */
async function holdVgLock(): Promise<{ seconds: number; output: string }> {
  const started = Date.now();
  const out = await (root.node1 as Runner).run(
    ['sh', '-c', '(sleep "$1"; echo n) | lvm lvremove "$2"', 'hold', String(HOLD_S), `${vg}/${HOLDER_LV}`],
    { reject: false, timeoutMs: 300_000 },
  );
  return { seconds: (Date.now() - started) / 1000, output: out.stdout + out.stderr };
}

describe('metadata changes of the shared VG from both hosts at once', () => {
  it(`every create, tagged activation, deactivation and remove succeeds for ${DURATION_MS / 1000} s, while node1 holds the VG lock for ${HOLD_S} s (both back-ends)`, async () => {
    await new Lvm({ runner: root.node1 as Runner }).createLv({ vg, lv: HOLDER_LV, sizeBytes: 4 * MiB });
    const tally: Tally = { done: 0, failures: [] };
    const until = Date.now() + DURATION_MS;
    const [hold] = await Promise.all([holdVgLock(), ...WORKERS.map((worker) => churn(worker, until, tally))]);
    console.log(`vg-lock: node1 held the VG lock for ${hold.seconds} s`);
    console.log(
      `vg-lock: ${refused.length} tries refused (VG lock held by other host): ${refused.join('; ')}`,
    );
    expect(hold.output).toMatch(/Do you really want to remove/);
    expect(hold.seconds).toBeGreaterThanOrEqual(HOLD_S);
    console.log(`vg-lock: ${tally.done} operations succeeded, ${tally.failures.length} failed`);
    for (const failure of tally.failures) console.log(`vg-lock: ${failure}`);
    expect(tally.failures).toEqual([]);
    expect(tally.done).toBeGreaterThanOrEqual(4 * WORKERS.length);
  }, 600_000);
});
