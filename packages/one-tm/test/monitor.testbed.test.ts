import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
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
// VM ids 4800–4899; the PUBKEY case (encrypted messages, a fake holding the private key) VM 4950.

const VM = 4800;
const vmDir = `${DL}/${SYS_DS}/${VM}`;
const lv = (disk: number) => `lv-one-${VM}-${disk}`;
const POOL = `lv-one-${VM}-pool`;
const KEYED_VM = 4950;
const keyedLv = `lv-one-${KEYED_VM}-0`;
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
let conf = '';
const monitordConf = (port: number, extra = '') =>
  `NETWORK = [\n  ADDRESS = "0.0.0.0",\n  MONITOR_ADDRESS = "auto",\n  PORT = ${port}${extra}\n]\n`;

beforeAll(async () => {
  fake = await startFakeOnemonitord();
  confDir = await mkdtemp(join(tmpdir(), 'vmmon-'));
  conf = join(confDir, 'monitord.conf');
  await writeFile(conf, monitordConf(fake.port));
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
    const lenient = { reject: false, timeoutMs: 120_000 };
    await n1.run(['lvchange', '-an', `${VG}/${keyedLv}`], lenient);
    await n1.run(['lvremove', '-y', `${VG}/${keyedLv}`], lenient);
    await n1.run(['rm', '-rf', `${DL}/${SYS_DS}/${KEYED_VM}`], lenient);
    await env.oned.setDatastore(SYS_DS, thinDs(false));
    await cleanUp(env, VM, [lv(0), lv(1), lv(2), POOL]);
  }
}, 600_000);

async function transfer(line: string, vm = VM) {
  const r = await env.tm.transferLines(vm, [line]);
  expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${vm} -`);
}

/** The system datastore MONITOR with MONITOR_VM_DISKS=1, run by the one_datastore.rb stand-in. */
async function monitorVmDisks() {
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

    await monitorVmDisks();
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

  it('with PUBKEY: the messages are RSA-encrypted; a fake holding the private key reads the sizes', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pubPath = join(confDir, 'onemonitord.pub');
    await writeFile(pubPath, publicKey.export({ type: 'pkcs1', format: 'pem' }));
    const keyed = await startFakeOnemonitord({
      privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    });
    try {
      await env.setVm(KEYED_VM, vmXml(KEYED_VM, 'node1', [{ id: 0, sizeMiB: 8 }]));
      await transfer(
        `MKIMAGE gfs2clvm 8 raw node1:${DL}/${SYS_DS}/${KEYED_VM}/disk.0 ${KEYED_VM} ${SYS_DS}`,
        KEYED_VM,
      );
      await writeFile(conf, monitordConf(keyed.port, `,\n  PUBKEY = "${pubPath}"`));
      await monitorVmDisks();
      await keyed.waitFor(1);
      for (const datagram of keyed.datagrams) {
        const body = inflateSync(Buffer.from(datagram.split(' ')[4] ?? '', 'base64'));
        expect(body.length % 256, 'whole 2048-bit RSA blocks').toBe(0);
      }
      expect(keyed.vms().get(KEYED_VM)).toEqual({ disks: [{ id: 0, sizeMb: 8 }], snapshots: [] });
    } finally {
      await writeFile(conf, monitordConf(fake.port));
      await keyed.close();
    }
  }, 600_000);
});
