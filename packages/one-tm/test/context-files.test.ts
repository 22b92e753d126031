import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActionContext, DEFAULTS, DriverError, userLine } from '@one-gfs2clvm/driver-runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { context, contextFileKind } from '../src/actions/context-iso.js';

// The context action's path policy for the files a VM names, on this machine's real file system
// (the front-end is where context ISOs are built). A refused file never gets as far as a host:
// the host pool here throws HOSTS_REACHED, which is also how an accepted file list shows itself
// (the ISO was built and the action went on to write it). VM ids 3500-3599.
const VM = 3500;
const SYS_DS = 3501;

let dir: string;
let loc: string;
let vms: string;
let contextSh: string;
let template: Record<string, string>;
let datastoreCalls: number;
let savedTmp: string | undefined;

function ctx(): ActionContext {
  return {
    action: 'context',
    config: { ...DEFAULTS, datastoreLocation: loc, frontendHosts: ['fe'] },
    one: {
      datastore: async () => {
        datastoreCalls++;
        return { id: SYS_DS, template, clusterIds: [0] };
      },
    },
    hosts: {
      get: () => {
        throw new Error('HOSTS_REACHED');
      },
    },
    log: { info: () => {}, debug: () => {} },
  } as unknown as ActionContext;
}

/** Runs the action with `files` after oned's context.sh; the error it ends with. */
async function run(...files: string[]): Promise<Error> {
  try {
    await context(ctx(), [
      contextSh,
      ...files,
      `node1:${loc}/${SYS_DS}/${VM}/disk.1`,
      String(VM),
      String(SYS_DS),
    ]);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the action finished without reaching a host');
}

async function refused(file: string, code: string, words: RegExp): Promise<string> {
  const error = await run(file);
  expect(DriverError.hasCode(error, code as never), `${file}: ${error.message}`).toBe(true);
  const line = userLine(error);
  expect(line).not.toContain('\n');
  expect(line).toMatch(words);
  // Nothing left: the ISO's scratch directory is gone and no host was asked to write anything.
  expect(readdirSync(process.env.TMPDIR as string)).toEqual([]);
  return line;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'one-tm-context-3500-'));
  loc = join(dir, 'datastores');
  vms = join(dir, 'vms', String(VM));
  mkdirSync(join(loc, '7'), { recursive: true });
  mkdirSync(vms, { recursive: true });
  mkdirSync(join(dir, 'tmp'));
  contextSh = join(vms, 'context.sh');
  writeFileSync(contextSh, "ETH0_IP='10.0.0.7'\n");
  writeFileSync(join(dir, 'init.sh'), 'echo hello\n');
  template = {};
  datastoreCalls = 0;
  savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = join(dir, 'tmp');
});

afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(dir, { recursive: true, force: true });
});

describe('context files the VM names get the path policy of cp', () => {
  it('/etc/shadow is refused (/etc: OpenNebula’s CONTEXT_RESTRICTED_DIRS default)', async () => {
    expect(
      await refused(
        '/etc/shadow',
        'FORBIDDEN',
        /^context file refused: path restricted: "\/etc\/shadow" resolves into \/etc on /,
      ),
    ).toBeTruthy();
  });

  it('/var/lib/one/.one/one_auth is refused', async () => {
    // Restricted by /var/lib/one on a front-end; this machine has no /var/lib/one, so realpath fails first.
    await refused(
      '/var/lib/one/.one/one_auth',
      'NOT_FOUND',
      /^context file refused: "\/var\/lib\/one\/\.one\/one_auth": ENOENT$/,
    );
  });

  it('/proc/self/environ and a file under /run are refused (cp’s defaults)', async () => {
    await refused('/proc/self/environ', 'FORBIDDEN', /resolves into \/proc on /);
    await refused('/run', 'FORBIDDEN', /resolves into \/run on /);
  });

  it('a path with .. is refused before anything is resolved', async () => {
    await refused(`${dir}/../../etc/passwd`, 'INVALID_ARGUMENT', /has a "\.\." component/);
  });

  it('a symlink into a restricted directory is refused, also under its own name', async () => {
    symlinkSync('/etc/passwd', join(dir, 'passwd-link'));
    await refused(join(dir, 'passwd-link'), 'FORBIDDEN', /passwd-link" resolves into \/etc on /);
    await refused(`${join(dir, 'passwd-link')}:'passwd'`, 'FORBIDDEN', /resolves into \/etc on /);
  });

  it('a directory and a FIFO are refused as not regular files (no wait on the FIFO)', async () => {
    await refused(dir, 'INVALID_ARGUMENT', /is not a regular file$/);
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await refused(join(dir, 'fifo'), 'INVALID_ARGUMENT', /fifo" is not a regular file$/);
  });

  it('RESTRICTED_DIRS and SAFE_DIRS of the system datastore apply, asked once per action', async () => {
    mkdirSync(join(dir, 'private', 'public'), { recursive: true });
    writeFileSync(join(dir, 'private', 'key'), 'secret\n');
    writeFileSync(join(dir, 'private', 'public', 'motd'), 'hello\n');
    template = { RESTRICTED_DIRS: join(dir, 'private'), SAFE_DIRS: join(dir, 'private', 'public') };
    await refused(join(dir, 'private', 'key'), 'FORBIDDEN', /resolves into .*private on /);
    expect((await run(join(dir, 'private', 'public', 'motd'), join(dir, 'init.sh'))).message).toBe(
      'HOSTS_REACHED',
    );
    expect(datastoreCalls).toBe(2);
  });

  it('a normal file, oned’s context.sh and token.txt, and a FILES_DS image in a datastore are used', async () => {
    writeFileSync(join(vms, 'token.txt'), 'token\n');
    writeFileSync(join(loc, '7', '0123abcd'), 'from a file datastore\n');
    // oned's own files are in its restricted /var/lib/one/vms on a real front-end: here too.
    template = { RESTRICTED_DIRS: join(dir, 'vms') };
    const error = await run(
      join(dir, 'init.sh'),
      `${join(loc, '7', '0123abcd')}:'motd'`,
      join(vms, 'token.txt'),
    );
    expect(error.message).toBe('HOSTS_REACHED');
  });
});

describe('contextFileKind', () => {
  const files = [
    { path: '/var/lib/one/vms/7/context.sh', name: 'context.sh', named: false },
    { path: '/srv/init.sh', name: 'init.sh', named: false },
    { path: '/var/lib/one/datastores/2/abc', name: 'motd', named: true },
    { path: '/var/lib/one/datastores/2/abc', name: 'abc', named: false },
    { path: '/var/lib/one/datastores/0/7/disk.1', name: 'iso', named: true },
    { path: '/var/lib/one/vms/7/token.txt', name: 'token.txt', named: false },
  ];
  const loc = '/var/lib/one/datastores';

  it('oned’s own files, FILES_DS images directly in a datastore directory, the rest the user’s', () => {
    expect(files.map((f, i) => contextFileKind(files, i, f.path, loc))).toEqual([
      'oned',
      'user',
      'image',
      'user',
      'user',
      'oned',
    ]);
  });
});
