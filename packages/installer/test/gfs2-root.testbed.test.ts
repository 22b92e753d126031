import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDatastoresRoot } from '../src/doctor/host.js';
import type { RunContext } from '../src/engine.js';
import { DEFAULT_HOST_OPTIONS, hostItems } from '../src/roles/host.js';
import { runnerExec } from '../src/ssh.js';
import { ExecTarget } from '../src/target.js';

// What the drivers need of the GFS2 root, checked on the shared testbed's real GFS2 and sudo. The
// shared root is left as it is (the other suites write there): the owner and mode cases are
// directories of this suite's ids (3410-3412) on the same GFS2, each removed again. Reads and
// mkdir/rmdir only; nothing is installed, so the suite runs in the parallel lane.
let cluster: Cluster;
let root: Runner;
let target: ExecTarget;
const dirs = () => [3410, 3411, 3412].map((id) => `${cluster.datastores}/${id}`);

beforeAll(async () => {
  cluster = await attach();
  const host = cluster.hosts[0];
  if (!host || !cluster.gfs2Hosts.includes(host.name)) throw new Error('the testbed mounts no GFS2 on node1');
  root = host.runner('root');
  target = new ExecTarget(host.name, runnerExec(root));
  const [notOwned, everyone, good] = dirs();
  await root.run(['sh', '-c', 'rm -rf --one-file-system -- "$@"; mkdir -- "$@"', 'sh', ...dirs()]);
  await root.run(['chmod', '0755', '--', notOwned as string, good as string]);
  await root.run(['chown', 'oneadmin:oneadmin', '--', everyone as string, good as string]);
  await root.run(['chmod', '0777', '--', everyone as string]);
}, 120_000);

afterAll(async () => {
  await root?.run(['rm', '-r', '-f', '--one-file-system', '--', ...dirs()]);
  await root?.close();
});

describe('doctor: the datastores root on GFS2', () => {
  it('fails a root:root 0755 root: wrong owner, and oneadmin cannot write (the first cp failed so)', async () => {
    const [dir] = dirs();
    const results = await checkDatastoresRoot(target, 'oneadmin', dir as string);
    expect(results.map((r) => `${r.status} ${r.detail}`)).toEqual([
      `FAIL ${dir} is root:root 0755: oneadmin must own it with rwx`,
      `FAIL oneadmin cannot write there: mkdir: cannot create directory '${dir}/.one-gfs2clvm-doctor-${process.pid}': Permission denied`,
    ]);
    expect(results[0]?.fix).toMatch(/^run: one-gfs2clvm install --role host/);
  });

  it('fails a root writable by everyone, though oneadmin can write', async () => {
    const [, dir] = dirs();
    const results = await checkDatastoresRoot(target, 'oneadmin', dir as string);
    expect(results.map((r) => `${r.status} ${r.detail}`)).toEqual([
      `FAIL ${dir} is oneadmin:oneadmin 0777: writable by everyone`,
      `OK ${`oneadmin can create directories in ${dir}`}`,
    ]);
  });

  it('passes a oneadmin:oneadmin 0755 root, and leaves no probe behind', async () => {
    const [, , dir] = dirs();
    const results = await checkDatastoresRoot(target, 'oneadmin', dir as string);
    expect(results.map((r) => r.status)).toEqual(['OK', 'OK']);
    expect((await root.run(['ls', '-A', '--', dir as string])).stdout).toBe('');
  });

  it('install --role host sets the owner only where the datastore location is a GFS2 mount', async () => {
    const printed: string[] = [];
    const context: RunContext = { target, dryRun: true, print: (line) => printed.push(line) };
    const owners = async (datastoreLocation: string) =>
      (await hostItems({ ...DEFAULT_HOST_OPTIONS, datastoreLocation }, context))
        .filter((item) => item.kind === 'owner')
        .map((item) => item.path);
    expect(await owners(cluster.datastores)).toEqual([cluster.datastores]);
    const [dir] = dirs();
    expect(await owners(dir as string)).toEqual([]);
    expect(printed).toContain(
      `note: ${dir} is not mounted; its owner is left alone (mount GFS2 there, then run again)`,
    );
  });
});
