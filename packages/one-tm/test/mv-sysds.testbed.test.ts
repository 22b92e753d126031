import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, SYS_DS, VG } from './cluster.js';
import { cleanUp, type FrontEnd, lvState, setUpFrontEnd, sh, sumOf } from './suite.js';

// A VM moving to another system datastore (oned's cold migration with a datastore change) on the
// real cluster, through the one_tm.rb stand-in running the BUILT scripts: the disk lines copy each
// LV into the new datastore's VG and re-point disk.N in the old directory, the directory line
// renames the directory. The second system datastore uses the testbed's plain VG `vg-plain`
// (lock mode none: the front-end flock serialises its metadata changes) with thin provisioning, so
// a thick disk becomes a thin one on the way. A failing move (VG missing) leaves the old intact.
//
// The driver runs as root with plain LVM here: the host helper only touches VGs named vg-one-*,
// and the testbed's only other VG is vg-plain (vg-one-100 fills the shared LUN). VM ids 500–599.

const VM = 540;
const NEW_DS = 105; // VG vg-plain, thin
const BAD_DS = 106; // VG missing
const PLAIN = 'vg-plain';
const oldDir = `${DL}/${SYS_DS}/${VM}`;
const newDir = `${DL}/${NEW_DS}/${VM}`;
const lv = (disk: number) => `lv-one-${VM}-${disk}`;

let env: FrontEnd;
let n1: Runner;
let n2: Runner;
let sum0 = '';

const line = (action: string, ...args: Array<string | number>) => `${action} gfs2clvm ${args.join(' ')}`;
const moveLines = (to: number, from = 'node1', host = 'node2') => [
  line('MV', `${from}:${oldDir}/disk.0`, `${host}:${DL}/${to}/${VM}/disk.0`, VM, SYS_DS),
  line('MV', `${from}:${oldDir}`, `${host}:${DL}/${to}/${VM}`, VM, to),
];

async function transfer(lines: string[]) {
  const r = await env.tm.transferLines(VM, lines);
  return { ok: r.reply === `TRANSFER SUCCESS ${VM} -`, reply: r.reply ?? '', all: r.lines.join('\n') };
}

beforeAll(async () => {
  env = await setUpFrontEnd({
    asRoot: true,
    datastores: {
      [NEW_DS]: { SHARED: 'YES', TM_MAD: 'gfs2clvm', VG_NAME: PLAIN, THIN_PROVISIONING: 'YES' },
      [BAD_DS]: { SHARED: 'YES', TM_MAD: 'gfs2clvm', VG_NAME: 'vg-one-missing' },
    },
  });
  n1 = env.root('node1');
  n2 = env.root('node2');
  await sh(n1, ['mkdir', '-p', `/var/lib/one/datastores/${NEW_DS}`, `/var/lib/one/datastores/${BAD_DS}`]);
  await env.setVm(
    VM,
    `<VM><ID>${VM}</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE><TEMPLATE><DISK><DISK_ID>0</DISK_ID><TYPE>fs</TYPE><SIZE>16</SIZE></DISK></TEMPLATE>` +
      `<HISTORY_RECORDS><HISTORY><HOSTNAME>node1</HOSTNAME></HISTORY></HISTORY_RECORDS></VM>`,
  );
}, 600_000);

afterAll(async () => {
  if (!n1) return;
  const lenient = { reject: false, timeoutMs: 120_000 };
  for (const runner of [n2, n1])
    for (const name of [lv(0), `lv-one-${VM}-pool`])
      await runner.run(['lvchange', '-an', `${PLAIN}/${name}`], lenient);
  await n1.run(['lvremove', '-y', `${PLAIN}/${lv(0)}`, `${PLAIN}/lv-one-${VM}-pool`], lenient);
  await n1.run(
    ['rm', '-rf', `/var/lib/one/datastores/${NEW_DS}/${VM}`, `/var/lib/one/datastores/${BAD_DS}`],
    lenient,
  );
  await cleanUp(env, VM, [lv(0)]);
}, 600_000);

describe('mv to another system datastore', () => {
  it('a thick disk in vg-one-100, with data and a file in the VM directory', async () => {
    const r = await transfer([line('MKIMAGE', 16, 'raw', `node1:${oldDir}/disk.0`, VM, SYS_DS)]);
    expect(r.ok, r.all).toBe(true);
    const dev = `/dev/${VG}/${lv(0)}`;
    await sh(n1, ['dd', 'if=/dev/urandom', `of=${dev}`, 'bs=1M', 'count=8', 'oflag=direct', 'status=none']);
    sum0 = await sumOf(n1, dev, 0, 16);
    await sh(n1, ['sh', '-c', 'echo deployment > "$1/deployment.0"', 'w', oldDir]);
  });

  it('a move to a datastore whose VG is missing fails with one line and leaves the old intact', async () => {
    const r = await transfer(moveLines(BAD_DS));
    expect(r.ok).toBe(false);
    expect(r.reply).toMatch(/vg-one-missing/);
    expect(await sh(n1, ['readlink', `${oldDir}/disk.0`])).toBe(`/dev/${VG}/${lv(0)}`);
    expect(await lvState(n1, VG, lv(0))).toMatchObject({ active: true });
    expect(await sumOf(n1, `/dev/${VG}/${lv(0)}`, 0, 16)).toBe(sum0);
    expect(
      (await n1.run(['test', '-e', `${DL}/${BAD_DS}/${VM}`], { reject: false, timeoutMs: 60_000 })).exitCode,
    ).not.toBe(0);
  });

  it('moves node1 → node2 into vg-plain (thin there): data, link, directory, old LV gone; retries succeed', async () => {
    const [diskLine, dirLine] = moveLines(NEW_DS);
    // The disk line twice (oned resubmitting): the second finds the link re-pointed and changes nothing.
    let r = await transfer([diskLine as string, diskLine as string]);
    expect(r.ok, r.all).toBe(true);
    const dev = `/dev/${PLAIN}/${lv(0)}`;
    expect(await sh(n2, ['readlink', `${oldDir}/disk.0`])).toBe(dev); // re-pointed in the old directory
    r = await transfer([dirLine as string]);
    expect(r.ok, r.all).toBe(true);
    expect(await sh(n2, ['readlink', `${newDir}/disk.0`])).toBe(dev);
    expect(await sh(n2, ['cat', `${newDir}/deployment.0`])).toBe('deployment');
    expect((await n2.run(['test', '-e', oldDir], { reject: false, timeoutMs: 60_000 })).exitCode).not.toBe(0);
    expect(await lvState(n1, VG, lv(0))).toBeNull();
    const seg = await sh(n2, ['lvs', '--noheadings', '-o', 'segtype,pool_lv', `${PLAIN}/${lv(0)}`]);
    expect(seg.split(/\s+/)).toEqual(['thin', `lv-one-${VM}-pool`]);
    expect(await lvState(n2, PLAIN, lv(0))).toMatchObject({ active: true, tags: ['one_active_node2'] });
    expect((await lvState(n1, PLAIN, lv(0)))?.active).toBe(false);
    expect(await sumOf(n2, dev, 0, 16)).toBe(sum0);
    r = await transfer([dirLine as string]); // the directory moved already: success
    expect(r.ok, r.all).toBe(true);
  });

  it('terminate in the new datastore leaves nothing in vg-plain', async () => {
    const r = await transfer([
      line('DELETE', `node2:${newDir}/disk.0`, VM, NEW_DS),
      line('DELETE', `node2:${newDir}`, VM, NEW_DS),
    ]);
    expect(r.ok, r.all).toBe(true);
    expect(await sh(n1, ['lvs', '--noheadings', '-o', 'lv_name', PLAIN])).not.toMatch(
      new RegExp(`lv-one-${VM}-`),
    );
    expect((await n1.run(['test', '-e', newDir], { reject: false, timeoutMs: 60_000 })).exitCode).not.toBe(0);
  });
});
