import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteError } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, down, status, up } from '../src/index.js';

// Fault injection breaks hosts, so it runs on a cluster of its own (its own state folder), never on
// the shared one the other suites use. GFS2 over DLM, as in production: the survivor must go on.
const dir = mkdtempSync(join(tmpdir(), 'testbed-faults-'));
let cluster: Cluster;

/** qemu processes whose command line mentions this cluster's state folder. */
function qemuProcessesOf(stateDir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return cmd.startsWith('qemu-system') && cmd.includes(stateDir) && !/^\d+ \(.*\) Z /.test(stat);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** What corosync, DLM and the kernel say on node1: attached to a failure, never asserted. */
async function clusterDiagnostics(c: Cluster): Promise<string> {
  const script =
    'corosync-quorumtool -s; dlm_tool status; dlm_tool ls; ' +
    'tail -n 30 /var/log/corosync/corosync.log; dmesg | tail -n 40';
  const out = await c
    .host('node1')
    .runner()
    .run(['sh', '-c', script], { reject: false, timeoutMs: 60_000 })
    .catch((e: unknown) => ({ stdout: `diagnostics failed: ${String(e)}`, stderr: '' }));
  return `${out.stdout}${out.stderr}`;
}

/** `true` on node2 within `timeoutMs`: its result, or what it was rejected with. */
function trueOnNode2(timeoutMs: number) {
  return cluster
    .host('node2')
    .runner()
    .run(['true'], { timeoutMs })
    .catch((e: unknown) => e);
}

/** node2 answers on a new connection again. */
async function expectNode2Back() {
  await cluster.host('node2').close();
  const back = await cluster.host('node2').runner().run(['hostname'], { timeoutMs: 60_000 });
  expect(back.stdout.trim()).toBe('node2');
}

beforeAll(async () => {
  cluster = await up({ hosts: 2, lunGiB: 1, gfs2: 'dlm' }, dir);
});

afterAll(async () => {
  await cluster?.close();
  await down(dir);
});

describe('fault injection', () => {
  it('pause makes a host hang (commands time out) and resume brings it back', async () => {
    // Short: a pause longer than corosync's token (20 s) takes node2 out of the membership and
    // back in with its DLM state (a stateful merge that DLM without fencing never resolves), which
    // left GFS2 on node1 blocked for the kill test below in one CI run under load (token was 10 s).
    await cluster.pause('node2');
    expect((await status(dir)).hosts.find((h) => h.name === 'node2')?.runState).toBe('paused');
    const hung = await trueOnNode2(2000);
    expect(RemoteError.isInstance(hung) && ['TIMEOUT', 'UNREACHABLE'].includes(hung.code)).toBe(true);
    await cluster.resume('node2');
    await expectNode2Back();
    // node1's DLM never saw node2 leave: the GFS2 lockspace is running, not stopped for recovery.
    const dlm = await cluster.host('node1').runner().run(['dlm_tool', 'ls']);
    expect(dlm.stdout).not.toMatch(/kern_stop|new change/);
  });

  it('blockSsh refuse: new connections are refused at once; unblock restores them', async () => {
    await cluster.host('node2').close();
    await cluster.blockSsh('node2', 'refuse');
    const refused = await cluster
      .host('node2')
      .runner()
      .run(['true'])
      .catch((e: unknown) => e);
    expect(RemoteError.isInstance(refused) && refused.code).toBe('UNREACHABLE');
    await cluster.unblockSsh('node2');
    await cluster.host('node2').close();
    expect((await cluster.host('node2').runner().run(['hostname'])).stdout.trim()).toBe('node2');
  });

  it('blockSsh drop: the host stops answering (no handshake); unblock restores it', async () => {
    await cluster.host('node2').close();
    await cluster.blockSsh('node2');
    const dropped = await trueOnNode2(30_000);
    expect(RemoteError.isInstance(dropped) && ['UNREACHABLE', 'TIMEOUT'].includes(dropped.code)).toBe(true);
    await cluster.unblockSsh('node2');
    await expectNode2Back();
  });

  it('killing node2 leaves node1 working: shared VG, exclusive activation, GFS2', async () => {
    await cluster.kill('node2');
    const after = await status(dir);
    expect(after.hosts.map((h) => [h.name, h.alive])).toEqual([
      ['node1', true],
      ['node2', false],
    ]);
    const node1 = cluster.host('node1').runner();
    const vg = cluster.sharedVg;
    await node1.run(['lvcreate', '-y', '-n', 'lv-one-after-kill', '-L', '16m', vg], { timeoutMs: 180_000 });
    const active = await node1.run(['lvs', '--noheadings', '-o', 'lv_active', `${vg}/lv-one-after-kill`]);
    expect(active.stdout.trim()).toBe('active');
    // GFS2 stays usable on the survivor once corosync has declared node2 gone and DLM recovered.
    await node1
      .run(['sh', '-c', 'echo survived > "$1"/after-kill && cat "$1"/after-kill', 'sh', cluster.datastores], {
        timeoutMs: 180_000,
      })
      .catch(async (error: unknown) => {
        // A hang here has been seen once under load: say what DLM and GFS2 were waiting for.
        throw new Error(`${String(error)}\n${await clusterDiagnostics(cluster)}`);
      });
    const read = await node1.run(['cat', `${cluster.datastores}/after-kill`]);
    expect(read.stdout).toBe('survived\n');
  });

  it('down leaves no qemu process and no file of the cluster', async () => {
    expect(qemuProcessesOf(dir).length).toBe(1);
    await cluster.close();
    await down(dir);
    expect(qemuProcessesOf(dir)).toEqual([]);
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
  });
});
