import { DL, type FrontEnd } from '@one-gfs2clvm/one-harness/testbed';
import { expect } from 'vitest';

// What the testbed suites of one-tm take from one-harness to drive the cluster (set-up, shell,
// LV state, checksums, VM templates), in one place so that each suite imports it in one line;
// the cluster's ids and paths are in cluster.ts. Below it, the epilog check several suites share.
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
