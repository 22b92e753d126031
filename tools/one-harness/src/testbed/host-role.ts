import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Cluster, writeSshConfig } from '@one-gfs2clvm/testbed';
import { workspaceRoot } from './workspace.js';

const run = promisify(execFile);
const HELPER = '/usr/local/sbin/one-gfs2clvm-helper';
const HOST_ROLE_FILES = [HELPER, '/etc/sudoers.d/one-gfs2clvm', '/etc/udev/rules.d/90-one-gfs2clvm.rules'];

/** The hosts of `cluster` whose helper is not the packaged one, or that lack sudoers or the udev rule. */
async function staleHosts(cluster: Cluster, installer: string): Promise<string[]> {
  const asset = readFileSync(join(installer, 'assets', 'one-gfs2clvm-helper'));
  const want = createHash('sha256').update(asset).digest('hex');
  const stale: string[] = [];
  for (const host of cluster.hosts) {
    const r = await host
      .runner('root')
      .run(['sh', '-c', 'sha256sum <"$1" && shift && ls -- "$@" >/dev/null', 'look', ...HOST_ROLE_FILES], {
        reject: false,
        timeoutMs: 60_000,
      });
    if (r.exitCode !== 0 || r.stdout.split(' ')[0] !== want) stale.push(host.name);
  }
  return stale;
}

/**
 * A hypervisor has libvirt's qemu.conf, whose keys the role edits; the guests (the machine's root
 * over 9p) have none: they get Debian's stock file, unless one is there already.
 */
async function ensureQemuConf(cluster: Cluster, names: string[], installer: string): Promise<void> {
  const qemuConf = readFileSync(join(installer, 'test', 'fixtures', 'qemu.conf.debian12'));
  for (const name of names)
    await cluster
      .host(name)
      .runner('root')
      .run(
        [
          'sh',
          '-c',
          'test -f /etc/libvirt/qemu.conf || { mkdir -p /etc/libvirt && cat >/etc/libvirt/qemu.conf; }',
        ],
        { stdin: qemuConf, timeoutMs: 60_000 },
      );
}

/**
 * The installer's host role (helper, allow-list, sudoers, udev rule, …) on every host of `cluster`,
 * pushed from this machine the production way (`install --role host --ssh`: the CLI and the helper
 * asset are read here, so the guests' 9p cache cannot serve a stale copy). One quick look per host
 * first: when the helper there is the packaged one and sudoers and the udev rule are in place,
 * nothing runs (suites and engineers share the cluster). The install itself is idempotent and
 * serialised by flock(1) on the cluster's state folder.
 */
export async function ensureHostRole(cluster: Cluster): Promise<void> {
  const installer = join(workspaceRoot(), 'packages', 'installer');
  const stale = await staleHosts(cluster, installer);
  if (stale.length === 0) return;
  if (!existsSync(join(installer, 'dist', 'cli.js')))
    throw new Error(`${installer} is not built: run pnpm --filter one-gfs2clvm build`);
  const first = cluster.hosts[0];
  if (!first) throw new Error('testbed has no hosts');
  const scratch = await mkdtemp(join(tmpdir(), 'one-gfs2clvm-host-role-'));
  const config = join(scratch, 'ssh_config');
  await writeSshConfig(cluster, config);
  await ensureQemuConf(cluster, stale, installer);
  const cli = join(installer, 'bin', 'one-gfs2clvm.js');
  const install = ['install', '--role', 'host', '--ssh', stale.join(','), '--ssh-config', config];
  try {
    // flock(1) on the state folder itself: nothing is left in it.
    await run(
      'flock',
      [
        '-w',
        '900',
        cluster.state.dir,
        process.execPath,
        cli,
        ...install,
        '--known-hosts',
        first.knownHostsFile,
      ],
      { timeout: 900_000 },
    );
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `install --role host on ${stale.join(', ')} failed: ${e.stderr || e.message}\n${e.stdout ?? ''}`,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The datastore directories on GFS2, owned by oneadmin as on a real cloud (the driver makes the VM
 * directories in them as oneadmin). One made earlier by root is given to oneadmin.
 */
export async function ensureDatastoreDirs(cluster: Cluster, ids: number[]): Promise<void> {
  const first = cluster.hosts[0];
  if (!first) throw new Error('testbed has no hosts');
  const dirs = ids.map((id) => `${cluster.datastores}/${id}`);
  await first
    .runner('root')
    .run(['sh', '-c', 'mkdir -p -- "$@" && chown oneadmin:oneadmin -- "$@"', 'dirs', ...dirs], {
      timeoutMs: 120_000,
    });
}
