import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { type FrontEnd, MiB, SYS_DS, VG } from './front-end.js';

/** Runs a command as root on a testbed host and returns its trimmed stdout. */
export async function sh(runner: Runner, argv: string[]): Promise<string> {
  return (await runner.run(argv, { timeoutMs: 300_000 })).stdout.trim();
}

export interface LvState {
  active: boolean;
  /** The lvmlockd lock this host holds on the LV: `ex`, `sh` or `null`. */
  lock: 'ex' | 'sh' | null;
  tags: string[];
}

/** What `lvs` prints of one LV (`name|uuid|active locally|tags`) and lvmlockd's lock table. */
const STATES_SCRIPT =
  'lvs --noheadings --separator "|" -o lv_name,lv_uuid,lv_active_locally,lv_tags "$1" && echo @@ && lvmlockctl --info';

/**
 * The LVs of `vg` as `runner`'s host sees them, in one round trip: `lvs` and `lvmlockctl --info`,
 * which was seen once to fail (exit 158) while lvmlockd was busy under load: retried.
 */
async function readStates(runner: Runner, vg: string): Promise<{ lvs: string[][]; locks: string[][] }> {
  for (let attempt = 1; ; attempt++) {
    const r = await runner.run(['sh', '-c', STATES_SCRIPT, 'states', vg], {
      reject: false,
      timeoutMs: 120_000,
    });
    const [listing, info] = r.stdout.split('\n@@\n');
    if (r.exitCode === 0 && info !== undefined) {
      const rows = (text: string, separator: RegExp) =>
        text
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean)
          .map((line) => line.split(separator).map((field) => field.trim()));
      return { lvs: rows(listing ?? '', /\|/), locks: rows(info, /\s+/) };
    }
    if (info === undefined || attempt >= 4)
      throw new Error(`lvs/lvmlockctl ${vg} on ${runner.host}: exit ${r.exitCode}: ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/**
 * LVs of `vg` as `runner`'s host sees them, by name (`null`: no such LV), from one round trip. The
 * lock mode comes from lvmlockd itself (`lvmlockctl --info`: `LK LV ex|sh <uuid>`): `lvs`'
 * lv_active_exclusively says "exclusively" for every locally active LV under lvmlockd (LVM
 * 2.03.16), shared or not.
 */
export async function lvStates(
  runner: Runner,
  vg: string,
  names: readonly string[],
): Promise<Record<string, LvState | null>> {
  const { lvs, locks } = await readStates(runner, vg);
  const states: Record<string, LvState | null> = {};
  for (const name of names) {
    const row = lvs.find((fields) => fields[0] === name);
    if (!row) {
      states[name] = null;
      continue;
    }
    const [, uuid, local = '', tags = ''] = row;
    const mode = locks.find((w) => w[0] === 'LK' && w[1] === 'LV' && w[3] === uuid)?.[2];
    states[name] = {
      active: local === 'active locally',
      lock: mode === 'ex' || mode === 'sh' ? mode : null,
      tags: tags ? tags.split(',') : [],
    };
  }
  return states;
}

/** One LV as `host` sees it; `null` when it does not exist (see `lvStates`). */
export async function lvState(runner: Runner, vg: string, lv: string): Promise<LvState | null> {
  return (await lvStates(runner, vg, [lv]))[lv] ?? null;
}

/** sha256 of `count` MiB of the device at `skip` MiB, read on `runner`'s host. */
export async function sumOf(runner: Runner, dev: string, skip: number, count: number): Promise<string> {
  const out = await sh(runner, [
    'sh',
    '-c',
    'dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none | sha256sum',
    'sum',
    dev,
    String(skip),
    String(count),
  ]);
  return out.split(' ')[0] as string;
}

/** sha256 of `mib` MiB of zeros, computed on `runner`'s host. */
export async function zeroSum(runner: Runner, mib: number): Promise<string> {
  return (await sh(runner, ['sh', '-c', 'head -c "$1" /dev/zero | sha256sum', 'z', String(mib * MiB)])).split(
    ' ',
  )[0] as string;
}

/**
 * Removes what a failed test may have left of a VM: its LVs deactivated on both hosts and removed,
 * its directory on GFS2; then closes the cluster's connections. Failures are ignored (best effort).
 */
export async function cleanUp(env: FrontEnd, vmId: number, lvNames: string[]): Promise<void> {
  const [n1, n2] = [env.root('node1'), env.root('node2')];
  const lenient = { reject: false, timeoutMs: 120_000 };
  // One listing first: the tests remove most of their LVs themselves, and three LVM commands for
  // each name that is gone anyway cost minutes of a CI run on emulated hosts.
  const listed = await n1.run(['lvs', '--noheadings', '-o', 'lv_name', VG], lenient);
  const present = new Set(listed.stdout.split('\n').map((line) => line.trim()));
  for (const name of lvNames.filter((n) => listed.exitCode !== 0 || present.has(n))) {
    await n2.run(['lvchange', '-an', `${VG}/${name}`], lenient);
    await n1.run(['lvchange', '-an', `${VG}/${name}`], lenient);
    await n1.run(['lvremove', '-y', `${VG}/${name}`], lenient);
  }
  await n1.run(['rm', '-rf', `/var/lib/one/datastores/${SYS_DS}/${vmId}`], lenient);
  await env.cluster.close();
}
