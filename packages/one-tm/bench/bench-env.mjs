// Shared set-up of the testbed benchmarks: the built driver run by tools/one-harness's TmDriver
// (oned's one_tm.rb stand-in) against the running testbed (`pnpm testbed up`), oned faked by
// one-harness's createFakeOned. BENCH_BACKEND=lvm (default: root, plain LVM, like the baseline
// scripts) or helper (production: oneadmin, the host helper through sudo; needs the host role).
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeOned, datastoreXml, hostPoolXml, TmDriver } from '@one-gfs2clvm/one-harness';
import { attach } from '@one-gfs2clvm/testbed';

export const VG = 'vg-one-100';
export const SYS_DS = 100;
export const IMG_DS = 101;
export const DL = '/var/lib/one//datastores';
export const MiB = 2 ** 20;
const REMOTES = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'remotes');

export async function benchEnv({ concurrency = 15, conf = [] } = {}) {
  const cluster = await attach();
  const dir = await mkdtemp(join(tmpdir(), 'one-tm-bench-'));
  const helper = process.env.BENCH_BACKEND === 'helper';
  const user = helper ? 'oneadmin' : 'root';
  await writeFile(
    join(dir, 'ssh_config'),
    cluster.hosts
      .map(
        (h) =>
          `Host ${h.name}\n  HostName 127.0.0.1\n  Port ${h.sshPort}\n  User ${user}\n  IdentityFile ${h.identityFile}\n`,
      )
      .join(''),
  );
  await writeFile(
    join(dir, 'gfs2clvm.conf'),
    [
      ...(helper ? ['SSH_USER=oneadmin'] : ['SSH_USER=root', 'LVM_BACKEND=lvm', 'LVM_PREFIX=lvm']),
      `SSH_CONFIG=${join(dir, 'ssh_config')}`,
      `SSH_KNOWN_HOSTS=${cluster.hosts[0].knownHostsFile}`,
      'FRONTEND_HOSTS=fe',
      `LOCK_DIR=${join(dir, 'lock')}`,
      'DEBUG=yes',
      ...(process.env.BENCH_CONNECT_TIMEOUT
        ? [`SSH_CONNECT_TIMEOUT=${process.env.BENCH_CONNECT_TIMEOUT}`]
        : []),
      ...conf,
      '',
    ].join('\n'),
  );
  const oned = await createFakeOned(join(dir, 'one'));
  await oned.setDatastore(SYS_DS, datastoreXml({ id: SYS_DS, type: 1, template: { SHARED: 'YES' } }));
  await oned.setDatastore(IMG_DS, datastoreXml({ id: IMG_DS, type: 0 }));
  await oned.setHosts(hostPoolXml(cluster.hosts.map((h) => h.name)));
  // A private copy of the built scripts: a rebuild of dist/ cannot pull them away mid-run.
  const remotes = join(dir, 'remotes');
  await cp(REMOTES, remotes, { recursive: true });
  const tm = new TmDriver({
    remotesDir: remotes,
    drivers: ['gfs2clvm'],
    cwd: dir,
    env: { ...process.env, ...oned.env, GFS2CLVM_CONF: join(dir, 'gfs2clvm.conf') },
    concurrency,
  });
  await tm.init();
  const root = (name) => cluster.host(name).runner('root');
  await root(cluster.hosts[0].name).run(
    [
      'sh',
      '-c',
      'mkdir -p -- "$1" && chown oneadmin:oneadmin -- "$1"',
      'dirs',
      `/var/lib/one/datastores/${SYS_DS}`,
    ],
    { timeoutMs: 120_000 },
  );
  return { cluster, dir, tm, oned, root };
}

/** Runs a command as root on a host; its trimmed stdout. An overloaded guest that misses the
 * SSH handshake deadline is asked again (up to 3 times): the checks must not die of the load. */
export async function sh(runner, argv, timeoutMs = 3600_000) {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await runner.run(argv, { timeoutMs })).stdout.trim();
    } catch (error) {
      if (error?.code !== 'UNREACHABLE' || attempt >= 3) throw error;
    }
  }
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Seconds of a step the driver logged with `ctx.log.timed` (`INFO: … <what> took 12.3 s`). */
export function stepSeconds(lines, pattern) {
  const line = lines.find((l) => pattern.test(l) && / took [\d.]+ s/.test(l));
  return line ? Number(/ took ([\d.]+) s/.exec(line)[1]) : Number.NaN;
}
