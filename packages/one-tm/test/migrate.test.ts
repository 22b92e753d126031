import { PassThrough, Readable } from 'node:stream';
import { DEFAULTS } from '@one-gfs2clvm/driver-runtime';
import { lvmCommand, lvsRow } from '@one-gfs2clvm/lvm/testing';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { describe, expect, it } from 'vitest';
import { runAction } from '../src/index.js';

// Which host gets which activation, in which order, and what a failure undoes: premigrate,
// postmigrate and failmigrate against fake hosts (the real lock protocol runs in
// lifecycle.testbed.test.ts). A FakeRunner rejects every command it was not told about.

const VG = 'vg-one-100';
const VM_DIR = '/var/lib/one/datastores/100/7';
const LVS = ['lv-one-7-0', 'lv-oneimg-43'];
const vmXml =
  '<VM><ID>7</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE><TEMPLATE>' +
  '<DISK><DISK_ID>0</DISK_ID><TYPE>BLOCK</TYPE></DISK><DISK><DISK_ID>1</DISK_ID><TYPE>BLOCK</TYPE><PERSISTENT>YES</PERSISTENT></DISK>' +
  '<DISK><DISK_ID>2</DISK_ID><TYPE>CDROM</TYPE></DISK></TEMPLATE></VM>';

/** An `lvs --reportformat json` answer for one LV of 32 MiB. */
function lvsReport(lv: string, active: boolean, tags: string[] = []): string {
  return JSON.stringify({ report: [{ lv: [lvsRow(VG, lv, { sizeBytes: 33554432, active, tags })] }] });
}

function host(name: string): FakeRunner {
  const fake = new FakeRunner({ host: name });
  fake.on(
    ['find', VM_DIR, '-mindepth', '1', '-maxdepth', '1', '-name', 'disk.*', '-printf', '%f\\t%y\\t%l\\n'],
    {
      stdout: `disk.0\tl\t/dev/${VG}/lv-one-7-0\ndisk.1\tl\t/dev/${VG}/lv-oneimg-43\ndisk.4\tf\t\ndisk.9\tl\t/etc/passwd\n`,
    },
  );
  return fake;
}

const calls = (fake: FakeRunner) =>
  fake.argvs
    .filter((a) => a[1] === 'lvchange')
    .map(
      (a) =>
        `${fake.host} ${a.slice(a.indexOf('--activate') >= 0 ? a.indexOf('--activate') : a.length - 3).join(' ')}`,
    );

async function run(action: string, hosts: Record<string, FakeRunner>) {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c) => (err += c));
  const code = await runAction(action, ['node1', 'node2', VM_DIR, '7', '100'], {
    stdin: Readable.from([Buffer.from(vmXml).toString('base64')]),
    stdout: new PassThrough(),
    stderr,
    configPath: '/nonexistent',
    config: { ...structuredClone(DEFAULTS), lvmBackend: 'lvm', lvmPrefix: ['lvm'], lockMode: 'lvmlockd' },
    one: {
      vm: async () => Promise.reject(new Error('stdin has the VM')),
      datastore: async () => Promise.reject(new Error('unused')),
      hosts: async () => [],
    },
    connect: (name) => {
      const fake = hosts[name];
      if (!fake) throw new Error(`unexpected host ${name}`);
      return fake;
    },
  });
  return { code, err };
}

describe('live migration decisions', () => {
  it('premigrate: source exclusive → shared first, then shared on the destination, per LV; links to non-LVs ignored', async () => {
    const n1 = host('node1');
    const n2 = host('node2');
    for (const lv of LVS) n1.on(lvmCommand('lvs', `${VG}/${lv}`), { stdout: lvsReport(lv, true) });
    for (const fake of [n1, n2])
      fake.on(lvmCommand('lvchange', undefined, { has: ['sy'] }), { stdout: '{}' });
    const r = await run('premigrate', { node1: n1, node2: n2 });
    expect(r).toMatchObject({ code: 0 });
    const lvchanges = [...n1.calls, ...n2.calls]
      .filter((c) => c.argv[1] === 'lvchange')
      .map((c) => `${c.argv[c.argv.length - 1]}`);
    expect(lvchanges).toEqual([
      `${VG}/lv-one-7-0`,
      `${VG}/lv-oneimg-43`,
      `${VG}/lv-one-7-0`,
      `${VG}/lv-oneimg-43`,
    ]);
    expect(calls(n1)).toEqual([
      `node1 --activate sy ${VG}/lv-one-7-0`,
      `node1 --activate sy ${VG}/lv-oneimg-43`,
    ]);
    expect(calls(n2)).toEqual([
      `node2 --activate sy ${VG}/lv-one-7-0`,
      `node2 --activate sy ${VG}/lv-oneimg-43`,
    ]);
  });

  it('premigrate: a refusal on the destination undoes everything done so far, and the error is one line', async () => {
    const n1 = host('node1');
    const n2 = host('node2');
    for (const lv of LVS) n1.on(lvmCommand('lvs', `${VG}/${lv}`), { stdout: lvsReport(lv, true) });
    n1.on(lvmCommand('lvchange'), { stdout: '{}' });
    n2.on(lvmCommand('lvchange', `${VG}/lv-oneimg-43`, { has: ['sy'] }), {
      exitCode: 5,
      stderr: `  LV locked by other host: ${VG}/lv-oneimg-43\n`,
    });
    n2.on(lvmCommand('lvchange', `${VG}/lv-one-7-0`, { has: ['sy'] }), { stdout: '{}' });
    n2.on(lvmCommand('lvs', `${VG}/lv-one-7-0`), { stdout: lvsReport('lv-one-7-0', true) });
    n2.on(lvmCommand('lvchange', `${VG}/lv-one-7-0`, { has: ['n'] }), { stdout: '{}' });
    const r = await run('premigrate', { node1: n1, node2: n2 });
    expect(r.code).toBe(1);
    expect(r.err.split('\n').filter((l) => l && !/^(ERROR|INFO|DEBUG):/.test(l))).toEqual([
      `LV locked by another host: activate ${VG}/lv-oneimg-43 on node2: LV locked by other host: ${VG}/lv-oneimg-43`,
    ]);
    // node1: both converted to shared, then back to exclusive (latest first); node2: the first LV deactivated.
    expect(calls(n1)).toEqual([
      `node1 --activate sy ${VG}/lv-one-7-0`,
      `node1 --activate sy ${VG}/lv-oneimg-43`,
      `node1 --activate ey ${VG}/lv-oneimg-43`,
      `node1 --activate ey ${VG}/lv-one-7-0`,
    ]);
    expect(calls(n2)).toEqual([
      `node2 --activate sy ${VG}/lv-one-7-0`,
      `node2 --activate sy ${VG}/lv-oneimg-43`,
      `node2 --activate n ${VG}/lv-one-7-0`,
    ]);
  });

  it('postmigrate: deactivate and untag on the source, -aey and tag on the destination', async () => {
    const n1 = host('node1');
    const n2 = host('node2');
    for (const lv of LVS) {
      n1.on(lvmCommand('lvs', `${VG}/${lv}`), { stdout: lvsReport(lv, true, ['one_active_node1']) });
      n2.on(lvmCommand('lvs', `${VG}/${lv}`), { stdout: lvsReport(lv, true, ['one_active_node1']) });
    }
    for (const fake of [n1, n2]) fake.on(lvmCommand('lvchange'), { stdout: '{}' });
    expect(await run('postmigrate', { node1: n1, node2: n2 })).toMatchObject({ code: 0 });
    const args = (fake: FakeRunner) =>
      fake.argvs.filter((a) => a[1] === 'lvchange').map((a) => a.slice(a.indexOf('--config') + 2).join(' '));
    // One lvchange per LV and host: the tag change rides with the (de)activation.
    expect(args(n1)).toEqual([
      `--deltag one_active_node1 --activate n ${VG}/lv-one-7-0`,
      `--deltag one_active_node1 --activate n ${VG}/lv-oneimg-43`,
    ]);
    expect(args(n2)).toEqual([
      `--addtag one_active_node2 --activate ey ${VG}/lv-one-7-0`,
      `--addtag one_active_node2 --activate ey ${VG}/lv-oneimg-43`,
    ]);
  });
  it('postmigrate refused on the destination (another host holds the LV): its tag is taken off again', async () => {
    const n1 = host('node1');
    const n2 = host('node2');
    for (const lv of LVS)
      n1.on(lvmCommand('lvs', `${VG}/${lv}`), { stdout: lvsReport(lv, true, ['one_active_node1']) });
    n1.on(lvmCommand('lvchange'), { stdout: '{}' });
    // LVM adds the tag, then refuses the activation (exit 5).
    n2.on(lvmCommand('lvchange', undefined, { has: ['--addtag'] }), {
      exitCode: 5,
      stderr:
        '  WARNING: Combining activation change with other commands is not advised.\n  LV locked by other host: vg-one-100/lv-one-7-0\n',
    });
    n2.on(lvmCommand('lvchange', undefined, { has: ['--deltag'] }), { stdout: '{}' });
    expect(await run('postmigrate', { node1: n1, node2: n2 })).toMatchObject({ code: 1 });
    const args = n2.argvs.filter((a) => a[1] === 'lvchange').map((a) => a.slice(a.indexOf('--config') + 2));
    expect(args[0]).toEqual(['--addtag', 'one_active_node2', '--activate', 'ey', `${VG}/lv-one-7-0`]);
    expect(args[1]).toEqual(['--reportformat', 'json', '--deltag', 'one_active_node2', `${VG}/lv-one-7-0`]);
  });
});
