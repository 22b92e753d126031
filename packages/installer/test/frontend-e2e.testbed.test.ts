import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeOned, DsDriver, datastoreXml, dsActionData, hostPoolXml } from '@one-gfs2clvm/one-harness';
import { freePort } from '@one-gfs2clvm/ssh-remote/testing';
import { attach, type Cluster, writeSshConfig } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { localExec } from '../src/exec.js';

/**
 * The front-end role end to end: `install --role frontend --root <tmp>` with the real driver builds,
 * then the INSTALLED scripts (not the packages' dist) run through one_datastore.rb's stand-in: the
 * system datastore's MONITOR (tm/gfs2clvm/monitor, real LVM on the shared testbed) and a DS action.
 */
const SYS_DS = 100;
let cluster: Cluster;
let dir: string;
let root: string;
let remotes: string;
let ds: DsDriver;
const out: string[] = [];

beforeAll(async () => {
  cluster = await attach();
  dir = await mkdtemp(join(tmpdir(), 'one-gfs2clvm-fe-e2e-'));
  root = join(dir, 'root');
  remotes = join(root, 'var/lib/one/remotes');
  await mkdir(join(root, 'etc/one'), { recursive: true });
  await writeFile(
    join(root, 'etc/one/oned.conf'),
    await readFile(join(import.meta.dirname, 'fixtures/oned.conf.6.10'), 'utf8'),
  );
  const first = cluster.hosts[0];
  if (!first) throw new Error('the testbed has no hosts');
  // Two entries doctor must fail on: node1 under a name whose host key nobody accepted, and a port
  // where nothing listens (bogus entries: the shared hosts are never blocked).
  const closedPort = await freePort();
  await writeSshConfig(cluster, join(dir, 'ssh_config'), {
    extra:
      `Host node1-unknown-key\n  HostName 127.0.0.1\n  Port ${first.sshPort}\n  HostKeyAlias node1-unknown-key\n  User root\n  IdentityFile ${first.identityFile}\n` +
      `Host closed-port\n  HostName 127.0.0.1\n  Port ${closedPort}\n  User root\n`,
  });
  // The admin's own driver configuration (the testbed: root and plain LVM over SSH) stands where
  // the installer would put the default one: it is kept, and the installed scripts read it from
  // next to themselves.
  await mkdir(join(remotes, 'etc/tm/gfs2clvm'), { recursive: true });
  await writeFile(
    join(remotes, 'etc/tm/gfs2clvm/gfs2clvm.conf'),
    [
      'SSH_USER=root',
      'LVM_BACKEND=lvm',
      'LVM_PREFIX=lvm',
      `SSH_CONFIG=${join(dir, 'ssh_config')}`,
      `SSH_KNOWN_HOSTS=${first.knownHostsFile}`,
      'SSH_CONNECT_TIMEOUT=30',
      `SSH_IDENTITY=${first.identityFile}`,
      `LOCK_DIR=${join(dir, 'lock')}`,
      '',
    ].join('\n'),
  );
  const code = await main(['node', 'one-gfs2clvm', 'install', '--role', 'frontend', '--root', root], {
    exec: localExec,
    out: (line) => out.push(line),
    err: (line) => out.push(line),
  });
  expect(code, out.join('\n')).toBe(0);

  const oned = await createFakeOned(join(dir, 'one'));
  await oned.setHosts(hostPoolXml(cluster.hosts.map((h) => h.name)));
  await oned.setDatastore(SYS_DS, datastoreXml({ id: SYS_DS, type: 1, template: { SHARED: 'YES' } }));
  ds = new DsDriver({
    remotesDir: remotes,
    drivers: ['gfs2clvm'],
    systemDrivers: ['gfs2clvm'],
    cwd: dir,
    // GFS2CLVM_CONF unset: the scripts must find the config next to where they were installed.
    env: { ...process.env, ...oned.env, GFS2CLVM_CONF: '' },
    timeoutSeconds: 240,
  });
  await ds.init();
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the installed front-end scripts', () => {
  it('were installed from the driver builds, the admin config kept', () => {
    expect(out).toContain('kept existing /var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf');
    expect(existsSync(join(remotes, 'tm/gfs2clvm/monitor'))).toBe(true);
    expect(existsSync(join(remotes, 'datastore/gfs2clvm/monitor'))).toBe(true);
  });

  it('monitor of the system datastore answers the VG usage of the shared testbed', async () => {
    const r = await ds.dsAction(
      'MONITOR',
      SYS_DS,
      dsActionData({ dsMad: '-', tmMad: 'gfs2clvm', type: 1, id: SYS_DS }),
    );
    expect(r.commands[0]?.argv[0]).toBe(join(remotes, 'tm/gfs2clvm/monitor'));
    expect(r.result, r.lines.join('\n')).toBe('SUCCESS');
    const answer = Buffer.from(r.info ?? '', 'base64').toString('utf8');
    const m = /^USED_MB=(\d+) FREE_MB=(\d+) TOTAL_MB=(\d+)\n$/.exec(answer);
    expect(m, answer).not.toBeNull();
    const vgSize = await cluster
      .host(cluster.hosts[0]?.name ?? 'node1')
      .runner('root')
      .run(['vgs', '--noheadings', '--units', 'm', '--nosuffix', '-o', 'vg_size', cluster.sharedVg]);
    expect(Number(m?.[3])).toBe(Math.floor(Number(vgSize.stdout.trim())));
  });

  it('a DS action runs from the installed datastore/gfs2clvm and answers with one line', async () => {
    const r = await ds.dsAction(
      'SNAP_FLATTEN',
      900,
      dsActionData({ dsMad: 'gfs2clvm', tmMad: 'gfs2clvm', type: 0, id: 101 }),
    );
    expect(r.commands[0]?.argv[0]).toBe(join(remotes, 'datastore/gfs2clvm/snap_flatten'));
    // One line on stderr (oned logs it, and it is the failure INFO), exit 1.
    expect(r.commands[0]?.stderr.trimEnd().split('\n'), r.lines.join('\n')).toHaveLength(1);
    expect(r.commands[0]?.exitCode).toBe(1);
    expect(r.reply).toMatch(/^SNAP_FLATTEN FAILURE 900 snap_flatten: .*not supported by gfs2clvm/);
  });

  it('doctor reaches every host with the driver SSH settings, and says what to do for the others', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const code = await main(
      [
        'node',
        'one-gfs2clvm',
        'doctor',
        '--role',
        'frontend',
        '--root',
        root,
        // This machine has no oneadmin account: doctor (as root) checks as root through sudo -u root.
        '--user',
        'root',
        '--hosts',
        [...cluster.hosts.map((h) => h.name), 'node1-unknown-key', 'closed-port'].join(','),
      ],
      { exec: localExec, out: (line) => lines.push(line), err: (line) => errors.push(line) },
    );
    expect(code, lines.join('\n')).toBe(1);
    const ssh = lines.filter((line) => / ssh /.test(line));
    expect(ssh.slice(0, cluster.hosts.length)).toEqual(
      cluster.hosts.map((h) => `OK   ssh ${h.name}: root reaches root@${h.name} without a password`),
    );
    expect(ssh[cluster.hosts.length]).toBe(
      "FAIL ssh node1-unknown-key: root cannot reach root@node1-unknown-key: Host key verification failed. — check node1-unknown-key's host key fingerprint, then add it to the known_hosts the driver uses (SSH_KNOWN_HOSTS; as root: ssh node1-unknown-key true, and answer yes)",
    );
    expect(ssh[cluster.hosts.length + 1]).toMatch(
      /^FAIL ssh closed-port: root cannot reach root@closed-port: ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused — check that closed-port is up, that sshd runs there, and that its port is reachable from the front-end$/,
    );
    expect(ssh).toHaveLength(cluster.hosts.length + 2);
    expect(lines).toContain(`OK   Node.js: ${process.version} for root (the drivers need >= 20.19.0)`);
    // The rest of the front-end is in order: only the two bad hosts fail.
    expect(lines.filter((line) => line.startsWith('FAIL'))).toHaveLength(2);
    expect(errors).toEqual(['one-gfs2clvm: doctor: 2 check(s) failed']);
  });
});
