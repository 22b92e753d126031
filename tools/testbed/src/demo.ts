#!/usr/bin/env node
import type { RunResult } from '@one-gfs2clvm/ssh-remote';
import type { Cluster } from './cluster.js';
import { TestbedError } from './errors.js';
import { attach, down, status, up } from './lifecycle.js';

/**
 * The README's first command: boots the virtual SAN cluster and narrates clustered LVM on it with
 * timings: exclusive activation on node1, node2 refused, shared activation on both, deactivation,
 * GFS2 on every host, clean shutdown. `TESTBED_REUSE=1` uses (and leaves) a running cluster.
 */
const started = performance.now();
const clock = () => `[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
const say = (line: string) => console.log(`${clock()} ${line}`);
const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `             ${l}`)
    .join('\n');

async function step(cluster: Cluster, host: string, argv: string[], user: 'root' | 'oneadmin' = 'root') {
  const t0 = performance.now();
  const result: RunResult = await cluster
    .host(host)
    .runner(user)
    .run(argv, { reject: false, timeoutMs: 300_000 });
  const ms = Math.round(performance.now() - t0);
  const prompt = user === 'root' ? '#' : '$';
  say(`${user}@${host}${prompt} ${argv.join(' ')}   (exit ${result.exitCode}, ${ms} ms)`);
  const out = `${result.stdout}${result.stderr}`;
  if (out.trim()) console.log(indent(out));
  return result;
}

function expectExit(result: RunResult, code: number, what: string): void {
  if (result.exitCode !== code) {
    throw new TestbedError('SETUP_FAILED', `demo: ${what}: expected exit ${code}, got ${result.exitCode}`);
  }
}

async function main(): Promise<void> {
  const reuse = process.env.TESTBED_REUSE === '1';
  const wasUp = (await status()).up;
  say('booting the virtual SAN cluster: 2 emulated hosts (qemu) on one shared LUN');
  const cluster =
    reuse && wasUp ? await attach() : await up({ hosts: 2, gfs2: 'dlm', log: (line) => say(line) });
  try {
    const vg = cluster.sharedVg;
    const lv = `lv-one-demo-${Date.now().toString(36).slice(-4)}`;
    const path = `${vg}/${lv}`;

    say(`— a VM disk: an LV of the shared VG, created on node1 (activated exclusively: lock held by node1)`);
    expectExit(
      await step(cluster, 'node1', ['lvcreate', '--yes', '--name', lv, '--size', '64m', vg]),
      0,
      'lvcreate',
    );
    await step(cluster, 'node1', ['lvs', '-o', 'lv_name,lv_size,lv_attr,lv_active_exclusively', path]);

    say('— node2 asks for the same LV exclusively: sanlock refuses, the VM cannot start twice');
    expectExit(await step(cluster, 'node2', ['lvchange', '--activate', 'ey', path]), 5, 'refusal on node2');

    say('— live migration: node1 converts its lock to shared in place, node2 activates shared too');
    expectExit(await step(cluster, 'node1', ['lvchange', '--activate', 'sy', path]), 0, 'shared on node1');
    expectExit(await step(cluster, 'node2', ['lvchange', '--activate', 'sy', path]), 0, 'shared on node2');
    for (const host of ['node1', 'node2']) {
      await step(cluster, host, ['lvs', '--noheadings', '-o', 'lv_name,lv_active,lv_active_locally', path]);
    }

    say('— deactivation on both hosts, then removal');
    expectExit(await step(cluster, 'node1', ['lvchange', '--activate', 'n', path]), 0, 'deactivate node1');
    expectExit(await step(cluster, 'node2', ['lvchange', '--activate', 'n', path]), 0, 'deactivate node2');
    expectExit(await step(cluster, 'node1', ['lvremove', '--yes', path]), 0, 'lvremove');

    say(`— GFS2 at ${cluster.datastores}, mounted on ${cluster.gfs2Hosts.join(' and ')}`);
    for (const host of cluster.gfs2Hosts) {
      await step(cluster, host, ['stat', '-f', '-c', '%T', cluster.datastores], 'oneadmin');
    }
    const file = `${cluster.datastores}/demo-${lv}`;
    await cluster
      .host('node1')
      .runner('oneadmin')
      .run(['tee', file], { stdin: 'deployment file written on node1\n' });
    say(`oneadmin@node1$ echo 'deployment file written on node1' > ${file}`);
    await step(cluster, cluster.gfs2Hosts.at(-1) ?? 'node1', ['cat', file], 'oneadmin');
    await step(cluster, 'node1', ['rm', '-f', file], 'oneadmin');
  } finally {
    await cluster.close();
  }

  if (reuse || wasUp) {
    say('the cluster was already up: left running (`pnpm testbed down` stops it)');
  } else {
    say('clean shutdown');
    await down();
  }
  say('done');
}

main().catch((error: unknown) => {
  console.error(TestbedError.isInstance(error) ? `testbed demo: ${error.message}` : error);
  process.exitCode = 1;
});
