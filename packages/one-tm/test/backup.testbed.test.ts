import { datastoreXml } from '@one-gfs2clvm/one-harness';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, MiB, SYS_DS, VG } from './cluster.js';
import { ddFill } from './fill.js';
import { cleanUp, type FrontEnd, setUpFrontEnd, sh, sumOf, vmXml } from './suite.js';

// Powered-off FULL backups on the real cluster (issue 16, part 1): a VM on node1 with a thick and a
// thin disk holding random data and a zero range; prebackup and postbackup run as the VMM driver
// runs them (one_vmm_exec.rb's TM commands, raw VM XML on stdin) through the harness, the BUILT
// scripts as oneadmin (host helper, unprivileged data path). VM ids 5000–5049.

const VM = 5000;
const vmDir = `/var/lib/one/datastores/${SYS_DS}/${VM}`;
const backup = `${vmDir}/backup`;
const lv = (disk: number) => `lv-one-${VM}-${disk}`;
const dev = (disk: number) => `/dev/${VG}/${lv(disk)}`;
const POOL = `lv-one-${VM}-pool`;
/** disk 0 thick, disk 1 thin (MiB). */
const SIZES = [64, 96];
/** The system datastore as the other suites have it, or for this suite's disks (no wipe: saves time). */
const sysDs = (extra: Record<string, string> = {}) =>
  datastoreXml({ id: SYS_DS, type: 1, template: { SHARED: 'YES', TM_MAD: 'gfs2clvm', ...extra } });
const VM_XML = vmXml(
  VM,
  'node1',
  SIZES.map((sizeMiB, id) => ({ id, sizeMiB })),
  70,
).replace('</VM>', '<BACKUPS><BACKUP_CONFIG><MODE>FULL</MODE></BACKUP_CONFIG></BACKUPS></VM>');

let env: FrontEnd;
let n1: Runner;

beforeAll(async () => {
  env = await setUpFrontEnd();
  n1 = env.root('node1');
  await env.setVm(VM, VM_XML);
}, 600_000);

afterAll(async () => {
  if (n1) {
    await env.oned.setDatastore(SYS_DS, sysDs());
    await cleanUp(env, VM, [lv(0), lv(1), lv(2), POOL]);
  }
  await env?.remove();
}, 600_000);

async function transfer(line: string) {
  const r = await env.tm.transferLines(VM, [line]);
  expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
}

/** The VMM driver's TM command `<ACTION> gfs2clvm host:<vm dir> <disks> one-<vm> - <vm> <sys ds>`. */
function backupCommand(action: 'PREBACKUP' | 'POSTBACKUP', disks: string, xml = VM_XML) {
  return env.tm.tmCommand(
    VM,
    [action, 'gfs2clvm', `node1:${DL}/${SYS_DS}/${VM}`, disks, `one-${VM}`, '-', String(VM), String(SYS_DS)],
    xml,
  );
}

/** The entries of the backup directory (`null`: no directory). */
async function listing(): Promise<string[] | null> {
  const out = await sh(n1, ['sh', '-c', '[ -d "$1" ] || { echo @none; exit 0; }; ls -A "$1"', 'ls', backup]);
  return out === '@none' ? null : out.split('\n').filter(Boolean);
}

/** sha256 of a qcow2 converted back to raw (in node1's /tmp). */
async function rawSumOf(file: string): Promise<string> {
  const out = await sh(n1, [
    'sh',
    '-c',
    't=$(mktemp) && qemu-img convert -f qcow2 -O raw "$1" "$t" && sha256sum "$t"; r=$?; rm -f "$t"; exit $r',
    'sum',
    file,
  ]);
  return out.split(' ')[0] as string;
}

describe('prebackup / postbackup of a powered-off VM (FULL)', () => {
  it('writes disk.<id>.0 of a thick and a thin disk as qcow2 v3 holding the LV, and vm.xml', async () => {
    await env.oned.setDatastore(SYS_DS, sysDs({ ZERO_ON_CREATE: 'NO' }));
    await transfer(`MKIMAGE gfs2clvm ${SIZES[0]} raw node1:${DL}/${SYS_DS}/${VM}/disk.0 ${VM} ${SYS_DS}`);
    await env.oned.setDatastore(SYS_DS, sysDs({ ZERO_ON_CREATE: 'NO', THIN_PROVISIONING: 'YES' }));
    await transfer(`MKIMAGE gfs2clvm ${SIZES[1]} raw node1:${DL}/${SYS_DS}/${VM}/disk.1 ${VM} ${SYS_DS}`);
    await env.oned.setDatastore(SYS_DS, sysDs());
    // Random data at 0–24 MiB with zeros at 8–16 MiB, random again at 40–44 MiB: one command per disk.
    for (const disk of [0, 1]) {
      const fills = [
        ddFill(dev(disk), 24),
        ddFill(dev(disk), 8, { from: '/dev/zero', seek: 8 }),
        ddFill(dev(disk), 4, { seek: 40 }),
      ];
      await sh(n1, ['sh', '-c', fills.map((argv) => argv.join(' ')).join(' && ')]);
    }

    const r = await backupCommand('PREBACKUP', '0:1');
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    expect((await listing())?.sort()).toEqual(['disk.0.0', 'disk.1.0', 'vm.xml']);
    for (const disk of [0, 1]) {
      const file = `${backup}/disk.${disk}.0`;
      const info = JSON.parse(await sh(n1, ['qemu-img', 'info', '--output=json', file]));
      expect(info.format).toBe('qcow2');
      expect(info['format-specific']?.data?.compat).toBe('1.1');
      expect(info['virtual-size']).toBe((SIZES[disk] as number) * MiB);
      expect(info['backing-filename']).toBeUndefined();
      expect(await rawSumOf(file)).toBe(await sumOf(n1, dev(disk), 0, SIZES[disk] as number));
    }
    expect(await sh(n1, ['sh', '-c', 'base64 -d < "$1"', 'vmxml', `${backup}/vm.xml`])).toBe(VM_XML);
  }, 600_000);

  it('a second prebackup recreates the directory empty', async () => {
    await sh(n1, ['touch', `${backup}/stray`, `${backup}/disk.7.0`]);
    const r = await backupCommand('PREBACKUP', '1');
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    expect((await listing())?.sort()).toEqual(['disk.1.0', 'vm.xml']);
  }, 600_000);

  it('too little room on the GFS2: one line saying what is missing, no backup content', async () => {
    // A third disk larger than the whole GFS2 (512 MiB), made without a wipe: only its size is read.
    await sh(n1, ['lvcreate', '-an', '-L', '600m', '-n', lv(2), '--setautoactivation', 'n', VG]);
    await sh(n1, ['ln', '-s', dev(2), `${vmDir}/disk.2`]);
    const r = await backupCommand('PREBACKUP', '0:1:2');
    expect(r.result).toBe('FAILURE');
    expect(r.info).toMatch(
      new RegExp(`^backup needs (\\d+) MiB on node1:${vmDir}, (\\d+) MiB missing \\((\\d+) MiB free\\)$`),
    );
    const [, needed, missing, free] = (r.info.match(/(\d+) MiB on .*, (\d+) MiB missing \((\d+) MiB free/) ??
      []) as string[];
    expect(Number(needed)).toBeGreaterThan(64 + 96 + 600);
    expect(Number(missing)).toBe(Number(needed) - Number(free));
    expect((await listing()) ?? []).toEqual([]);
    await sh(n1, ['rm', '-f', `${vmDir}/disk.2`]);
  }, 600_000);

  it('postbackup removes the directory, after a success and after a failure', async () => {
    let r = await backupCommand('PREBACKUP', '0');
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    r = await backupCommand('POSTBACKUP', '0');
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    expect(await listing()).toBeNull();

    r = await backupCommand('PREBACKUP', '1');
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    const failed = VM_XML.replace('</VM>', '<BACKUP_RESULT>FAILURE</BACKUP_RESULT></VM>');
    r = await backupCommand('POSTBACKUP', '1', failed);
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    expect(await listing()).toBeNull();
    // The disks are untouched: still active for the VM on node1.
    expect(await sh(n1, ['lvs', '--noheadings', '-o', 'lv_active', `${VG}/${lv(0)}`])).toBe('active');
  }, 600_000);
});
