import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { parseUserXml, parseVmXml } from '@one-gfs2clvm/one-tm';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { describe, expect, it } from 'vitest';
import { DS_ACTIONS, SUPPORTED_ACTIONS, UNSUPPORTED_ACTIONS } from '../src/actions-list.js';
import { runAction } from '../src/dispatch.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const ACTIONS_DIR = join(import.meta.dirname, '..', 'dist', 'remotes', 'datastore', 'gfs2clvm');

/** A oned that must not be asked, and hosts that must not be contacted: the refusals come first. */
const noOned = new Proxy(
  {},
  {
    get: (_t, name) => () => {
      throw new Error(`oned asked: ${String(name)}`);
    },
  },
) as never;
const noHost = (host: string): Runner => {
  throw new Error(`host contacted: ${host}`);
};

async function run(action: string, argv: string[], stdin = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await runAction(action, argv, {
    stdin: Readable.from([stdin]),
    stdout,
    stderr,
    configPath: '/nonexistent/gfs2clvm.conf',
    one: noOned,
    connect: noHost,
  });
  const errText = Buffer.concat(err).toString();
  const plain = errText.split('\n').filter((l) => l !== '' && !/^(ERROR|INFO|DEBUG): /.test(l));
  return { code, stdout: Buffer.concat(out).toString(), plain };
}

const image = (fields: string) =>
  `<DS_DRIVER_ACTION_DATA><IMAGE><ID>7</ID><UID>0</UID><GID>0</GID>${fields}</IMAGE>` +
  '<DATASTORE><ID>101</ID><NAME>img</NAME><BASE_PATH>/var/lib/one//datastores/101</BASE_PATH><TYPE>0</TYPE>' +
  '<CLUSTERS><ID>0</ID></CLUSTERS><TEMPLATE><VG_NAME><![CDATA[vg-one-100]]></VG_NAME></TEMPLATE></DATASTORE></DS_DRIVER_ACTION_DATA>';

describe('action list', () => {
  it('has every action one_datastore.rb registers, plus export', () => {
    expect([...DS_ACTIONS].sort()).toEqual(
      [
        'clone',
        'cp',
        'export',
        'increment_flatten',
        'mkfs',
        'monitor',
        'restore',
        'rm',
        'snap_delete',
        'snap_flatten',
        'snap_revert',
        'stat',
      ].sort(),
    );
    expect(SUPPORTED_ACTIONS).toHaveLength(6);
    expect(UNSUPPORTED_ACTIONS).toHaveLength(6);
  });
});

describe('runAction: one plain line, exit codes, nothing contacted on bad input', () => {
  it.each(UNSUPPORTED_ACTIONS)('%s: one line, exit 1, stdout empty', async (action) => {
    const r = await run(action, ['7'], b64(image('')));
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.plain).toHaveLength(1);
    expect(r.plain[0]).toMatch(new RegExp(`^${action}: .* not supported by gfs2clvm`));
  });

  it('an unknown action name is refused (and cut)', async () => {
    const r = await run(`x${'y'.repeat(200)}`, ['7']);
    expect(r.code).toBe(1);
    expect(r.plain).toEqual([`x${'y'.repeat(59)}: not a gfs2clvm DS action`]);
  });

  it.each([[[]], [['1', '2', '3']]])('argv %j is a usage error: exit 2', async (argv) => {
    const r = await run('cp', argv);
    expect(r.code).toBe(2);
    expect(r.plain).toHaveLength(1);
    expect(r.plain[0]).toMatch(/^cp: expected <id>/);
  });

  it.each(['-1', '../7', '7;reboot', '$(id)', '', '07', '1e3', '99999999999'])(
    'a hostile id %j is refused with one line',
    async (id) => {
      const r = await run('rm', [id], b64(image('')));
      expect(r.code).toBe(1);
      expect(r.plain).toHaveLength(1);
      expect(r.plain[0]).toMatch(/is not an id/);
    },
  );

  it('stdin that is not base64, or not XML, is one line', async () => {
    expect((await run('cp', ['7'], 'not base64 !')).plain).toEqual([
      'payload is not base64 (DS_DRIVER_ACTION_DATA expected)',
    ]);
    const r = await run('cp', ['7'], b64('<DS_DRIVER_ACTION_DATA>'));
    expect(r.code).toBe(1);
    expect(r.plain).toHaveLength(1);
  });

  it('the id must be the payload image', async () => {
    const r = await run('rm', ['8'], b64(image('<SOURCE>vg-one-100/lv-oneimg-8</SOURCE>')));
    expect(r.plain).toEqual(['rm 8: the payload is image 7']);
  });

  it('the ≤ 6.6 argv form (base64, id) is read like stdin', async () => {
    const r = await run('rm', [b64(image('<SOURCE>vg-one-100/lv-oneimg-8</SOURCE>')), '8']);
    expect(r.plain).toEqual(['rm 8: the payload is image 7']);
  });

  it('rm of an image without SOURCE succeeds without a host; a foreign SOURCE is refused', async () => {
    expect(await run('rm', ['7'], b64(image('<SOURCE></SOURCE>')))).toEqual({
      code: 0,
      stdout: '',
      plain: [],
    });
    const r = await run('rm', ['7'], b64(image('<SOURCE>vg-one-100/lv-one-7-0</SOURCE>')));
    expect(r.plain).toEqual(['rm: SOURCE vg-one-100/lv-one-7-0 is not the LV of image 7']);
    const bad = await run('rm', ['7'], b64(image('<SOURCE>vg-one-100/-x</SOURCE>')));
    expect(bad.code).toBe(1);
    expect(bad.plain).toHaveLength(1);
  });

  it('mkfs: save_as answers the name at once; qcow2, bad FS and bad SIZE are refused', async () => {
    expect(await run('mkfs', ['7'], b64(image('<FORMAT>save_as</FORMAT><SIZE>10</SIZE>')))).toEqual({
      code: 0,
      stdout: 'vg-one-100/lv-oneimg-7\n',
      plain: [],
    });
    expect((await run('mkfs', ['7'], b64(image('<FORMAT>qcow2</FORMAT><SIZE>10</SIZE>')))).plain).toEqual([
      'mkfs: FORMAT "qcow2" not supported (gfs2clvm images are raw)',
    ]);
    expect((await run('mkfs', ['7'], b64(image('<FS>ntfs</FS><SIZE>10</SIZE>')))).plain).toEqual([
      'mkfs: FS "ntfs" not supported (ext2, ext3, ext4, xfs)',
    ]);
    expect((await run('mkfs', ['7'], b64(image('<SIZE>0</SIZE>')))).plain).toEqual([
      'mkfs: SIZE 0 is not a positive number of MiB',
    ]);
  });

  it('cp of a hostile PATH is refused before oned or a host is asked', async () => {
    for (const path of ['lvm://1/../2', 'ftp://x/y', 'relative/path', 'vol://-1', 'file:///etc/shadow']) {
      const r = await run('cp', ['7'], b64(image(`<PATH><![CDATA[${path}]]></PATH>`)));
      expect(r.code).toBe(1);
      expect(r.plain).toHaveLength(1);
      expect(r.plain[0]).toMatch(/PATH/);
    }
  });

  it('monitor: the id must be the payload datastore', async () => {
    expect((await run('monitor', ['100'], b64(image('')))).plain).toEqual([
      'monitor 100: the payload is datastore 101',
    ]);
  });
});

describe('oned answers the DS driver reads (one-tm OneClient additions)', () => {
  it('oneuser show -x: every group, the quota ids not among them', () => {
    expect(parseUserXml(fixture('user-5.xml'))).toEqual({ id: 5, gid: 100, groups: [100, 101] });
  });

  it('onevm show -x: owner, group and permissions', () => {
    const vm = parseVmXml(fixture('vm-7-owned.xml'));
    expect(vm.owner).toEqual({ uid: 3, gid: 101, permissions: 'um-u-----' });
    expect(vm.state).toBe(5);
  });
});

describe('the built scripts', () => {
  const script = (action: string) => join(ACTIONS_DIR, action);

  it('one executable per action, answering with one line and the exit code', () => {
    for (const action of DS_ACTIONS) {
      const r = spawnSync(script(action), [], { input: '', encoding: 'utf8' });
      expect(r.stdout).toBe('');
      if ((UNSUPPORTED_ACTIONS as readonly string[]).includes(action)) {
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`^${action}: [^\\n]*not supported by gfs2clvm[^\\n]*\\n$`));
      } else {
        expect(r.status).toBe(2);
        expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('ERROR:'))).toEqual([
          `${action}: expected <id> (payload on stdin) or <base64 payload> <id>, got 0 arguments`,
        ]);
      }
    }
  });
});
