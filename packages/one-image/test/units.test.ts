import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { DEFAULTS, parseUserXml, parseVmXml } from '@one-gfs2clvm/driver-runtime';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { describe, expect, it } from 'vitest';
import { DS_ACTIONS, SUPPORTED_ACTIONS, UNSUPPORTED_ACTIONS } from '../src/actions-list.js';
import { type RunActionOptions, runAction } from '../src/dispatch.js';

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

/** Runs the dispatcher with no host and no oned (overridable); stdout and stderr as text. */
async function capture(action: string, argv: string[], stdin = '', options: Partial<RunActionOptions> = {}) {
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
    ...options,
  });
  return { code, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
}

/** The user's lines only (diagnostics left out). */
async function run(action: string, argv: string[], stdin = '') {
  const { code, out, err } = await capture(action, argv, stdin);
  const plain = err.split('\n').filter((l) => l !== '' && !/^(ERROR|INFO|DEBUG): /.test(l));
  return { code, stdout: out, plain };
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
    expect(vm.owner).toEqual({
      uid: 3,
      gid: 101,
      permissions: {
        owner: { use: true, manage: true, admin: false },
        group: { use: true, manage: false, admin: false },
        other: { use: false, manage: false, admin: false },
      },
    });
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

// The whole of stderr, byte for byte, on each path of the dispatcher (one-tm's skeleton with DS parts).
describe('runAction: the exact stderr of each path', () => {
  const runWith = capture;

  it('unsupported and unknown actions: one line only', async () => {
    expect(await runWith('export', ['7'], '', {})).toEqual({
      code: 1,
      out: '',
      err: 'export: marketplace export not supported by gfs2clvm\n',
    });
    expect(await runWith('cp\n;x', ['7'], '', {})).toEqual({
      code: 1,
      out: '',
      err: 'cp ;x: not a gfs2clvm DS action\n',
    });
  });

  it('a usage error and a hostile id: the ERROR diagnostic, then the plain line', async () => {
    const usage = await runWith('stat', [], '', {});
    expect(usage.code).toBe(2);
    expect(usage.err).toMatchInlineSnapshot(`
      "ERROR: stat: DsError [USAGE]: stat: expected <id> (payload on stdin) or <base64 payload> <id>, got 0 arguments
      stat: expected <id> (payload on stdin) or <base64 payload> <id>, got 0 arguments
      "
    `);
    const hostile = await runWith('rm', ['7;x'], b64(image('')), {});
    expect(hostile.code).toBe(1);
    expect(hostile.err).toMatchInlineSnapshot(`
      "ERROR: rm: DsError [INVALID_ARGUMENT]: id "7;x" is not an id (0…2147483647)
      id "7;x" is not an id (0…2147483647)
      "
    `);
  });

  // A configuration file that does not parse: test/__pinned__/ds/config-bad-backend.txt.

  it('an error without a code: internal error, its stack among the diagnostics', async () => {
    const r = await runWith('rm', ['7'], b64(image('<SOURCE>vg-one-100/lv-oneimg-7</SOURCE>')), {});
    expect(r.code).toBe(1);
    expect(r.err.replace(/ {5}at .*$/gm, ' at …')).toMatchInlineSnapshot(`
      "ERROR: rm: Error: oned asked: hosts
      ERROR: rm: Error: oned asked: hosts at …
      internal error: oned asked: hosts
      "
    `);
  });

  it('a failed host command: diagnostics, one plain line; the connection closed', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on(() => true, { exitCode: 5, stderr: 'boom\nsecond line' });
    const r = await runWith('rm', ['7'], b64(image('<SOURCE>vg-one-100/lv-oneimg-7</SOURCE>')), {
      config: { ...structuredClone(DEFAULTS), frontendHosts: ['fe'], debug: true },
      one: { hosts: async () => [{ id: 1, name: 'node1', state: 2, clusterId: 0 }] } as never,
      connect: () => fake,
    });
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    // The lvm library's argv is not the dispatcher's: masked.
    const err = r.err
      .replace(/ in \d+ ms$/gm, ' in … ms')
      .replace(/helper report [^;→]*/g, 'helper report … ');
    expect(err).toMatchInlineSnapshot(`
      "DEBUG: rm: node1: sudo -n /usr/local/sbin/one-gfs2clvm-helper report … → exit 5 in … ms
      ERROR: rm: LvmError [EXEC]: lvs vg-one-100/lv-oneimg-7 on node1: boom; argv: sudo -n /usr/local/sbin/one-gfs2clvm-helper report … ; exit 5; stderr: boom second line
      lvs vg-one-100/lv-oneimg-7 on node1: boom
      "
    `);
    expect(fake.closeCount).toBe(1);
  });
});
