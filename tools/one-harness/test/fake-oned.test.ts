// The fake oned CLI: the real commands' answers from files, oned's error for a missing object,
// and the XML builders in the shapes the drivers parse.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFakeOned,
  datastoreXml,
  type FakeOned,
  HarnessError,
  hostPoolXml,
  imageXml,
  vmXml,
} from '../src/index.js';

const exec = promisify(execFile);
let dir = '';
let one: FakeOned;

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(argv[0] as string, argv.slice(1), {
      env: { ...process.env, ...one.env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fake-oned-'));
  one = await createFakeOned(dir, process.env.PATH);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('createFakeOned', () => {
  it('answers onevm/onedatastore/oneimage show -x and onehost list -x from the files, through PATH', async () => {
    const vm = vmXml({
      id: 801,
      host: 'node1',
      systemDs: 100,
      imageDs: 101,
      disks: [{ id: 0, source: 'vg/lv' }],
    });
    await one.setVm(801, vm);
    await one.setDatastore(101, datastoreXml({ id: 101, type: 0, dsMad: 'gfs2clvm' }));
    await one.setImage(802, '<IMAGE><ID>802</ID></IMAGE>');
    await one.setHosts(hostPoolXml(['node1', 'node2']));
    expect((await run(['onevm', 'show', '-x', '801'])).stdout).toBe(vm);
    expect((await run(['onedatastore', 'show', '-x', '101'])).stdout).toContain(
      '<DS_MAD><![CDATA[gfs2clvm]]>',
    );
    expect((await run(['oneimage', 'show', '-x', '802'])).stdout).toBe('<IMAGE><ID>802</ID></IMAGE>');
    expect((await run(['onehost', 'list', '-x'])).stdout).toContain('<NAME>node2</NAME>');
    await one.setUser(5, '<USER><ID>5</ID></USER>');
    expect((await run(['oneuser', 'show', '-x', '5'])).stdout).toBe('<USER><ID>5</ID></USER>');
  });

  it('fails like oned for a missing object, and refuses other arguments or a path as id', async () => {
    expect(await run(['onevm', 'show', '-x', '899'])).toMatchObject({
      code: 255,
      stderr: '[one.vm.info] Error getting object [899].\n',
    });
    expect((await run(['onevm', 'list', '-x'])).code).toBe(1);
    expect((await run(['onevm', 'show', '-x', '../../etc/passwd'])).stderr).toMatch(/bad id/);
    await expect(one.setVm(-1, '<VM/>')).rejects.toSatisfy(HarnessError.isInstance);
  });
});

describe('imageXml', () => {
  it('has the fields in oned order, permissions as 0/1 and CDATA text', () => {
    const xml = imageXml({
      id: 800,
      datastoreId: 101,
      path: '/tmp/a b.qcow2',
      permissions: 'um-u--u--',
      vms: [3],
    });
    expect(xml).toContain(
      '<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A><GROUP_U>1</GROUP_U><GROUP_M>0</GROUP_M>',
    );
    expect(xml).toContain('<OTHER_U>1</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS>');
    expect(xml).toContain('<PATH><![CDATA[/tmp/a b.qcow2]]></PATH><FORMAT><![CDATA[]]></FORMAT>');
    expect(xml).toContain('<STATE>4</STATE><PREV_STATE>0</PREV_STATE><RUNNING_VMS>1</RUNNING_VMS>');
    expect(xml).toContain('<DATASTORE_ID>101</DATASTORE_ID>');
    expect(xml).toContain('<VMS><ID>3</ID></VMS>');
  });
});

describe('vmXml', () => {
  it('puts image disks in the image datastore, volatile ones in the system datastore, CDATA-escaped', () => {
    const xml = vmXml({
      id: 7,
      host: 'node2',
      systemDs: 100,
      imageDs: 101,
      lcmState: 43,
      disks: [
        { id: 0, source: 'vg-one-100/lv-oneimg-5', sizeMiB: 32 },
        { id: 1, type: 'swap', sizeMiB: 16 },
        { id: 2, source: 'vg/x', persistent: true, fs: 'a]]>b' },
      ],
    });
    expect(xml).toContain(
      '<DISK><DISK_ID><![CDATA[0]]></DISK_ID><TYPE><![CDATA[BLOCK]]></TYPE><SIZE><![CDATA[32]]></SIZE><CLONE><![CDATA[YES]]></CLONE><SOURCE><![CDATA[vg-one-100/lv-oneimg-5]]></SOURCE><DATASTORE_ID><![CDATA[101]]></DATASTORE_ID>',
    );
    expect(xml).toContain(
      '<TYPE><![CDATA[swap]]></TYPE><SIZE><![CDATA[16]]></SIZE><CLONE><![CDATA[YES]]></CLONE><DATASTORE_ID><![CDATA[100]]>',
    );
    expect(xml).toContain('<PERSISTENT><![CDATA[YES]]></PERSISTENT><CLONE><![CDATA[NO]]></CLONE>');
    expect(xml).toContain('<FS><![CDATA[a]]]]><![CDATA[>b]]></FS>');
    expect(xml).toContain('<LCM_STATE>43</LCM_STATE>');
    expect(xml).toContain('<HOSTNAME>node2</HOSTNAME><HID>0</HID><DS_ID>100</DS_ID>');
    expect(() => vmXml({ id: 1.5, host: 'h', systemDs: 0, disks: [] })).toThrow(/not a non-negative integer/);
  });
});
