/**
 * PINNED BEHAVIOUR of the BUILT action trees the installer copies into
 * `/var/lib/one/remotes/tm/gfs2clvm` and `/var/lib/one/remotes/datastore/gfs2clvm`
 * (`packages/one-tm/dist/remotes/…`, `packages/one-image/dist/remotes/…`, written by `pnpm run build`):
 * which action entry files the trees hold (the shims, the driver bundles and the configuration; not
 * the hashed chunks tsup's splitting writes, which change with any code change), and the exit code,
 * stdout and stderr of every action script run as oned (and tools/one-harness) runs it — a
 * separate process, argv and stdin — with a wrong argument count and with one hostile argument. No
 * cluster needed: every case is refused before any host is contacted.
 *
 * One file per case in test/__pinned__/built/. These snapshots are the reference issue 15 (the move
 * of the shared code into packages/driver-runtime) and any other refactor must keep: NEVER update
 * them (`vitest -u`) to make a refactor pass — a changed snapshot means the built scripts behave
 * differently; fix the change instead. Rebuild (`pnpm run build`) before running this file.
 *
 * Normalised (the only replaces, see `normalise`): timings (` in <n> ms`), stack frames (` at …`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const packages = join(import.meta.dirname, '..', '..');
const TREES = {
  tm: join(packages, 'one-tm', 'dist', 'remotes'),
  ds: join(packages, 'one-image', 'dist', 'remotes'),
};
const ACTION_DIRS = {
  tm: join(TREES.tm, 'tm', 'gfs2clvm'),
  ds: join(TREES.ds, 'datastore', 'gfs2clvm'),
};

/** tsup's split chunks: `<name>-<8 character hash>.mjs`. */
const CHUNK = /-[A-Z0-9]{8}\.mjs$/;

/** Every file under `dir` (relative, sorted) with its mode; chunks left out. */
function entries(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [`${prefix || '.'}: missing (run pnpm run build)`];
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(prefix, entry.name);
      if (entry.isDirectory()) return entries(join(dir, entry.name), path);
      if (CHUNK.test(entry.name)) return [];
      return [`${(statSync(join(dir, entry.name)).mode & 0o777).toString(8)} ${path}`];
    });
}

/** The action scripts of a tree: its executables (the shims). */
function actions(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => !name.endsWith('.mjs'))
    .sort();
}

const DIR = '/var/lib/one/datastores/100/7';
const DS_PAYLOAD = Buffer.from(
  '<DS_DRIVER_ACTION_DATA><IMAGE><ID>402</ID><SOURCE>vg-one-100/lv-oneimg-402</SOURCE></IMAGE>' +
    '<DATASTORE><ID>102</ID><TYPE>0</TYPE><CLUSTERS><ID>0</ID></CLUSTERS><TEMPLATE></TEMPLATE></DATASTORE></DS_DRIVER_ACTION_DATA>',
).toString('base64');

/** One hostile word in an argv of the right count, per TM action (the default: a VM dir path with `..`). */
const TM_HOSTILE: Record<string, string[]> = {
  clone: ['fe:vg-one-101/lv-oneimg-42', `node1:${DIR}/../../../../etc/disk.0`, '7', '101'],
  ln: ['fe:vg-one-101/lv-oneimg-42;reboot', `node1:${DIR}/disk.0`, '7', '101'],
  mkimage: ['99999999999', 'raw', `node1:${DIR}/disk.0`, '7', '100'],
  mkswap: ['64', `-oProxyCommand=x:${DIR}/disk.0`, '7', '100'],
  delete: [`node1:${DIR}/disk.0`, '$(reboot)', '100'],
  mv: [`node1:${DIR}/disk.0`, `node2:${DIR}/../8/disk.0`, '7', '100'],
  mvds: [`node1:${DIR}/disk.0`, 'vg-one-101/-rf', '7', '101'],
  cpds: [`node1:${DIR}/disk.0`, 'vg-one-101/lv-oneimg-50', '-3', '7', '101'],
  context: ['/var/lib/one/vms/7/context.sh', `node1:${DIR}/disk.0`, '7', '100;reboot'],
  premigrate: ['-oProxyCommand=x', 'node2', DIR, '7', '100'],
  postmigrate: ['node1', 'node2', `${DIR}/..`, '7', '100'],
  failmigrate: ['node1', 'node2', DIR, '8', '100'],
  resize: [`node1:${DIR}/disk.0`, '1e3', '7', '100'],
  monitor: ['100`reboot`'],
};
const DEFAULT_HOSTILE = [`node1:${DIR}/../../x/disk.0`, '0', '7', '100'];

interface Run {
  script: string;
  argv: string[];
  stdin: string;
}

function pin(run: Run): string {
  // The environment oned gives a driver, reduced to what matters: no GFS2CLVM_CONF, so each shim
  // reads the configuration next to its tree, as installed.
  const result = spawnSync(run.script, run.argv, {
    input: run.stdin,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' },
    timeout: 60_000,
  });
  return normalise(
    [
      `script: ${run.script.slice(packages.length + 1)}`,
      `argv: ${JSON.stringify(run.argv)}`,
      `stdin: ${run.stdin === '' ? '(empty)' : 'base64 DS_DRIVER_ACTION_DATA of image 402'}`,
      `exit: ${result.status ?? `signal ${result.signal}`}`,
      '--- stdout',
      result.stdout,
      '--- stderr',
      result.stderr,
    ].join('\n'),
  );
}

/** The only replaces: what varies run to run. */
function normalise(text: string): string {
  return text.replace(/ in \d+(\.\d+)? ms/g, ' in … ms').replace(/ {2,}at .*$/gm, ' at …');
}

describe('pinned: the built remotes trees', () => {
  it('hold these entry files (chunks left out)', async () => {
    const listing = [
      '# packages/one-tm/dist/remotes',
      ...entries(TREES.tm),
      '# packages/one-image/dist/remotes',
      ...entries(TREES.ds),
      '',
    ].join('\n');
    await expect(listing).toMatchFileSnapshot('__pinned__/built/entries.txt');
  });
});

describe('pinned: each built TM action script, refused', () => {
  const cases = actions(ACTION_DIRS.tm).flatMap((action): [string, Run][] => {
    const script = join(ACTION_DIRS.tm, action);
    return [
      [`tm-${action}-args-0`, { script, argv: [], stdin: '' }],
      [`tm-${action}-hostile`, { script, argv: TM_HOSTILE[action] ?? DEFAULT_HOSTILE, stdin: '' }],
    ];
  });

  it('finds the scripts', () => {
    expect(cases.length).toBeGreaterThan(40);
  });

  it.each(cases)('%s', async (name, run) => {
    await expect(pin(run)).toMatchFileSnapshot(`__pinned__/built/${name}.txt`);
  });
});

describe('pinned: each built DS action script, refused', () => {
  const cases = actions(ACTION_DIRS.ds).flatMap((action): [string, Run][] => {
    const script = join(ACTION_DIRS.ds, action);
    return [
      [`ds-${action}-args-0`, { script, argv: [], stdin: '' }],
      [`ds-${action}-hostile`, { script, argv: ['402;reboot'], stdin: DS_PAYLOAD }],
    ];
  });

  it('finds the scripts', () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  it.each(cases)('%s', async (name, run) => {
    await expect(pin(run)).toMatchFileSnapshot(`__pinned__/built/${name}.txt`);
  });
});
