import { DL, type FrontEnd, sh } from '@one-gfs2clvm/one-harness/testbed';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { expect } from 'vitest';

// What the testbed suites of one-tm take from one-harness to drive the cluster (set-up, shell,
// LV state, checksums, VM templates), in one place so that each suite imports it in one line;
// the cluster's ids and paths are in cluster.ts. Below it, the epilog check and
// the lvs report several suites share.
export * from '@one-gfs2clvm/one-harness/testbed';

/**
 * The epilog of `vm` on `host`: DELETE its disk.0 (an image of `imageDs`), then its folder in
 * `systemDs`; both succeed.
 */
export async function expectEpilogDeletes(
  env: FrontEnd,
  vm: number,
  host: string,
  systemDs: number,
  imageDs: number,
): Promise<void> {
  const r = await env.tm.transferLines(
    vm,
    [
      `DELETE gfs2clvm ${host}:${DL}/${systemDs}/${vm}/disk.0 ${vm} ${imageDs}`,
      `DELETE gfs2clvm ${host}:${DL}/${systemDs}/${vm} ${vm} ${systemDs}`,
    ],
    'epilog',
  );
  expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${vm} -`);
}

/**
 * The `lvs` rows (sizes in bytes) of the LVs of `vg` whose name starts with `prefix`, as the host
 * of `runner` sees them: `lv_name` and `fields`.
 */
export async function lvsRows(
  runner: Runner,
  vg: string,
  prefix: string,
  fields: string[],
): Promise<Array<Record<string, string>>> {
  const out = await sh(runner, [
    'lvs',
    '--reportformat',
    'json',
    '--units',
    'b',
    '--nosuffix',
    '-o',
    ['lv_name', ...fields].join(','),
    vg,
  ]);
  return (JSON.parse(out).report[0].lv as Array<Record<string, string>>).filter((r) =>
    r.lv_name?.startsWith(prefix),
  );
}
