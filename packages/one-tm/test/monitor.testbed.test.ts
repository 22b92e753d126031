import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  datastoreXml,
  dsActionData,
  type FakeOnemonitord,
  startFakeOnemonitord,
} from '@one-gfs2clvm/one-harness';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, MiB, SYS_DS, VG } from './cluster.js';
import { ddFill } from './fill.js';
import { cleanUp, type FrontEnd, lvsRows, setUpFrontEnd, sh, vmXml } from './suite.js';

// The system datastore monitor with MONITOR_VM_DISKS=1 on the real cluster (issue 17): a VM with a
// thick disk, a thin disk (pool on node1, partly written) and a thick swap disk, made through the
// one_tm.rb stand-in; the BUILT monitor, run by the one_datastore.rb stand-in on this machine,
// sends its sizes to a fake onemonitord on 127.0.0.1, which must receive exactly what lvs says.
// VM ids 4800–4899.

const VM = 4800;
const vmDir = `${DL}/${SYS_DS}/${VM}`;
const lv = (disk: number) => `lv-one-${VM}-${disk}`;
const POOL = `lv-one-${VM}-pool`;
const thinDs = (thin: boolean) =>
  datastoreXml({
    id: SYS_DS,
    type: 1,
    template: { SHARED: 'YES', TM_MAD: 'gfs2clvm', ...(thin ? { THIN_PROVISIONING: 'YES' } : {}) },
  });

let env: FrontEnd;
let n1: Runner;
let fake: FakeOnemonitord;
let confDir = '';

beforeAll(async () => {
  fake = await startFakeOnemonitord();
  confDir = await mkdtemp(join(tmpdir(), 'vmmon-'));
  const conf = join(confDir, 'monitord.conf');
  await writeFile(
    conf,
    `NETWORK = [\n  ADDRESS = "0.0.0.0",\n  MONITOR_ADDRESS = "auto",\n  PORT = ${fake.port}\n]\n`,
  );
  env = await setUpFrontEnd({ config: [`MONITORD_CONF=${conf}`] });
  n1 = env.root('node1');
  await env.setVm(
    VM,
    vmXml(VM, 'node1', [
      { id: 0, sizeMiB: 16 },
      { id: 1, sizeMiB: 32 },
      { id: 2, type: 'swap', sizeMiB: 8 },
    ]),
  );
}, 600_000);

afterAll(async () => {
  await fake?.close();
  if (confDir) await rm(confDir, { recursive: true, force: true });
  if (n1) {
    await env.oned.setDatastore(SYS_DS, thinDs(false));
    await cleanUp(env, VM, [lv(0), lv(1), lv(2), POOL]);
  }
}, 600_000);

async function transfer(line: string) {
  const r = await env.tm.transferLines(VM, [line]);
  expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
}

/** Size and data% of the VM's LVs as node1 (where the thin pool is active) reports them. */
async function lvsOnNode1(): Promise<Record<string, { bytes: number; dataPercent: number | null }>> {
  const rows: Record<string, { bytes: number; dataPercent: number | null }> = {};
  for (const r of await lvsRows(n1, VG, `lv-one-${VM}-`, ['lv_size', 'data_percent']))
    rows[r.lv_name as string] = {
      bytes: Number(r.lv_size),
      dataPercent: r.data_percent ? Number(r.data_percent) : null,
    };
  return rows;
}

describe('monitor with MONITOR_VM_DISKS=1', () => {
  it('sends onemonitord exactly the three disk sizes lvs gives (thick: size, thin: allocated)', async () => {
    await transfer(`MKIMAGE gfs2clvm 16 raw node1:${vmDir}/disk.0 ${VM} ${SYS_DS}`);
    await env.oned.setDatastore(SYS_DS, thinDs(true));
    await transfer(`MKIMAGE gfs2clvm 32 raw node1:${vmDir}/disk.1 ${VM} ${SYS_DS}`);
    await env.oned.setDatastore(SYS_DS, thinDs(false));
    await transfer(`MKSWAP gfs2clvm 8 node1:${vmDir}/disk.2 ${VM} ${SYS_DS}`);
    await sh(n1, ddFill(`/dev/${VG}/${lv(1)}`, 5));

    const r = await env.ds.dsAction(
      'MONITOR',
      SYS_DS,
      dsActionData({
        dsMad: '-',
        tmMad: 'gfs2clvm',
        type: 1,
        id: SYS_DS,
        after:
          '<DATASTORE_LOCATION>/var/lib/one/datastores</DATASTORE_LOCATION><MONITOR_VM_DISKS>1</MONITOR_VM_DISKS>',
      }),
    );
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    expect(Buffer.from(r.info ?? '', 'base64').toString('utf8')).toMatch(
      /^USED_MB=\d+ FREE_MB=\d+ TOTAL_MB=\d+\n$/,
    );
    await fake.waitFor(1);

    const rows = await lvsOnNode1();
    const thin = rows[lv(1)];
    expect(thin?.dataPercent, 'disk 1 is thin').not.toBeNull();
    expect(rows[lv(0)]?.dataPercent, 'disk 0 is thick').toBeNull();
    const expected = [0, 1, 2].map((id) => {
      const row = rows[lv(id)];
      const bytes = (row?.bytes ?? 0) * (row?.dataPercent === null ? 1 : (row?.dataPercent ?? 0) / 100);
      return { id, sizeMb: Math.ceil(bytes / MiB) };
    });
    expect(expected.map((d) => d.sizeMb)).toEqual([16, expected[1]?.sizeMb, 8]);
    expect(expected[1]?.sizeMb).toBeGreaterThanOrEqual(5);
    expect(expected[1]?.sizeMb).toBeLessThan(32);
    expect(fake.vms().get(VM)).toEqual({ disks: expected, snapshots: [] });
  }, 600_000);
});
