import { readFileSync } from 'node:fs';
import { parseLvmJson } from '@one-gfs2clvm/lvm';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster, GFS2_LV } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetPath } from '../src/assets.js';

// The helper of this tree on a real emulated host, run as root directly (no sudo, so no env_reset
// to lean on): its reports against real LVM on the shared VG, which holds the GFS2 LV beside the
// driver's LVs, and a hostile environment. A copy in the host's own /tmp with its config file
// there (the installed helper and its config, shared by every suite, stay untouched).
// Ids of this suite: 3500-3599.
const LV = 'lv-one-3500-0';

let cluster: Cluster;
let vg: string;
let root: Runner;
let dir: string;

/** Runs the copy with `args` (and `env` first: `env -i` for a caller's environment of our choosing). */
async function helper(args: string[], env: string[] = []) {
  const argv =
    env.length > 0 ? ['env', '-i', ...env, 'sh', `${dir}/helper`, ...args] : ['sh', `${dir}/helper`, ...args];
  return root.run(argv, { reject: false, timeoutMs: 120_000 });
}

// biome-ignore lint/suspicious/noExplicitAny: the tests walk LVM's JSON by the paths they check
const rows = (text: string, kind: 'vg' | 'lv' | 'pv'): any[] => (parseLvmJson(text) as any).report[0][kind];

beforeAll(async () => {
  cluster = await attach();
  vg = cluster.sharedVg;
  root = cluster.host('node1').runner('root');
  dir = (await root.run(['mktemp', '-d', '/tmp/one-gfs2clvm-helper-3500.XXXXXX'])).stdout.trim();
  const script = readFileSync(assetPath('one-gfs2clvm-helper'), 'utf8')
    .replace(/^CONF=\/.*$/m, `CONF=${dir}/helper.conf`)
    .replace(/^CAPS=\/.*$/m, `CAPS=${dir}/run/lvm-capabilities`);
  await root.run(['sh', '-c', 'cat >"$1"', 'put', `${dir}/helper`], { stdin: script });
  await root.run(['lvcreate', '-y', '-an', '--setautoactivation', 'n', '-L', '4m', '-n', LV, vg], {
    timeoutMs: 120_000,
  });
}, 300_000);

afterAll(async () => {
  if (!root) return;
  await root.run(['lvremove', '-y', `${vg}/${LV}`], { reject: false, timeoutMs: 120_000 });
  await root.run(['rm', '-rf', '--', dir], { reject: false });
  await cluster.close();
}, 300_000);

describe('the helper on a real host', () => {
  it("keeps LVM's capabilities root-only after the first probe; reports answer the same with them kept", async () => {
    const first = await helper(['report', 'lvs', vg, LV]);
    expect(first.exitCode, first.stderr).toBe(0);
    const kept = await root.run(['stat', '-c', '%a %U', `${dir}/run`, `${dir}/run/lvm-capabilities`]);
    expect(kept.stdout.split('\n')).toEqual(['700 root', '600 root', '']);
    // Debian 12's LVM is 2.03.16: the JSON without numbers as numbers, --setautoactivation known.
    const caps = await root.run(['cat', `${dir}/run/lvm-capabilities`]);
    expect(caps.stdout).toBe('json --setautoactivation\n');
    const second = await helper(['report', 'lvs', vg, LV]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(rows(second.stdout, 'lv').map((r) => r.lv_name)).toEqual([LV]);
    expect(rows(second.stdout, 'lv')).toEqual(rows(first.stdout, 'lv'));
  });

  it('expect: the shared VG is lvmlockd (and cluster) and the verb runs; none or clvmd is exit 65 and changes nothing', async () => {
    const tags = async () =>
      (
        await root.run(['lvs', '--noheadings', '-o', 'lv_tags', `${vg}/${LV}`], { timeoutMs: 120_000 })
      ).stdout.trim();
    for (const wrong of ['none', 'clvmd']) {
      const refused = await helper(['expect', wrong, 'tag', vg, LV, 'add', 'one_i18']);
      expect(refused.exitCode).toBe(65);
      expect(refused.stderr).toBe(`one-gfs2clvm-helper: VG ${vg} has lock mode lvmlockd, not ${wrong}\n`);
    }
    expect(await tags()).not.toContain('one_i18');
    const added = await helper(['expect', 'cluster', 'tag', vg, LV, 'add', 'one_i18']);
    expect(added.exitCode, added.stderr).toBe(0);
    expect(await tags()).toContain('one_i18');
    const removed = await helper(['expect', 'lvmlockd', 'tag', vg, LV, 'del', 'one_i18']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(await tags()).not.toContain('one_i18');
  }, 600_000);

  it('report lvs of the shared VG lists the driver LVs, never the GFS2 LV beside them', async () => {
    const plain = await root.run(['lvs', '--noheadings', '-o', 'lv_name', vg]);
    expect(plain.stdout).toContain(GFS2_LV);
    const listed = await helper(['report', 'lvs', vg]);
    expect(listed.exitCode, listed.stderr).toBe(0);
    const names = rows(listed.stdout, 'lv').map((lv) => lv.lv_name as string);
    expect(names).toContain(LV);
    expect(names).not.toContain(GFS2_LV);
    for (const name of names) expect(name).toMatch(/^lv-one(img)?-/);
    const named = await helper(['report', 'lvs', vg, GFS2_LV]);
    expect(named.exitCode).toBe(64);
    expect(named.stdout).toBe('');
  });

  it('report vgs and pvs answer for the allowed VGs only', async () => {
    const vgs = await helper(['report', 'vgs']);
    expect(vgs.exitCode, vgs.stderr).toBe(0);
    expect(rows(vgs.stdout, 'vg').map((row) => row.vg_name)).toEqual([vg]);
    const pvs = await helper(['report', 'pvs']);
    expect(pvs.exitCode, pvs.stderr).toBe(0);
    expect(rows(pvs.stdout, 'pv').length).toBeGreaterThan(0);
    for (const pv of rows(pvs.stdout, 'pv')) expect(pv.vg_name).toBe(vg);
    // An allow-list without the shared VG: the same host answers with empty lists.
    await root.run(['sh', '-c', 'echo "allow_vg vg-none-*" >"$1"', 'conf', `${dir}/helper.conf`]);
    try {
      for (const kind of ['vgs', 'pvs'] as const) {
        const none = await helper(['report', kind]);
        expect(none.exitCode, none.stderr).toBe(0);
        expect(rows(none.stdout, kind === 'vgs' ? 'vg' : 'pv')).toEqual([]);
      }
    } finally {
      await root.run(['rm', '-f', '--', `${dir}/helper.conf`]);
    }
  });

  it('a hostile environment (LVM_SYSTEM_DIR, DM_DEV_DIR, a fake lvm first in PATH) does not reach LVM', async () => {
    // An lvm.conf that hides every device, a device directory without device-mapper, and programs
    // that only leave a mark: any of them used, and the shared VG would not be listed.
    await root.run([
      'sh',
      '-c',
      'mkdir "$1/evil" && echo \'devices { filter = [ "r|.*|" ] }\' >"$1/evil/lvm.conf" && ' +
        'for p in lvm sed env; do printf "#!/bin/sh\\necho %s >>%s/ran\\n" $p "$1" >"$1/evil/$p"; chmod +x "$1/evil/$p"; done',
      'evil',
      dir,
    ]);
    const listed = await helper(
      ['report', 'vgs'],
      [
        `PATH=${dir}/evil:/usr/sbin:/usr/bin:/sbin:/bin`,
        `LVM_SYSTEM_DIR=${dir}/evil`,
        `DM_DEV_DIR=${dir}/evil`,
        'LVM_VG_NAME=vg-root',
      ],
    );
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(rows(listed.stdout, 'vg').map((row) => row.vg_name)).toEqual([vg]);
    const ran = await root.run(['test', '-e', `${dir}/ran`], { reject: false });
    expect(ran.exitCode).toBe(1);
  });
});
