import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createFakeOned, datastoreXml, hostPoolXml, TmDriver, vmXml } from '@one-gfs2clvm/one-harness';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster, writeSshConfig } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './testbed-host.js';

/**
 * The operator guide of the README ("From a bare cluster to the first VM disk"), followed line by
 * line on the shared emulated cluster: every line of its `sh` blocks is run as written where the
 * block says (front-end: this machine), except the one-time lines that built the cluster at boot
 * (`lvcreate`, `mkfs.gfs2`, `mount`: checked against the cluster instead), `apt-get install`
 * (packages checked; libvirt's stock qemu.conf laid down, the hosts have no libvirt),
 * `systemctl restart opennebula` and `onedatastore create` (no oned: tools/one-harness's fake
 * oned gets the README's own templates). A line the test does not know fails it, so the README
 * cannot drift from what is tested. It ends with a VM disk made and deleted through the harness.
 * Ids of this suite: system datastore 3420, image datastore 3421, VM 3430. Serial lane: it
 * installs the host role (SERIAL_TESTBED_SUITES).
 */
const SYS_DS = 3420;
const IMG_DS = 3421;
const VM = 3430;
const execFileP = promisify(execFile);

interface Block {
  where: 'every host' | 'one host' | 'the other hosts' | 'the front-end';
  heading: string;
  lines: string[];
}

/** The guide's `sh` blocks (each opened by `# N. on <where>, as <user>: …`) and `text` files. */
export function readGuide(markdown: string): { blocks: Block[]; files: Record<string, string> } {
  const start = markdown.indexOf('\n## From a bare cluster to the first VM disk');
  if (start < 0) throw new Error('README has no operator guide section');
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const blocks: Block[] = [];
  const files: Record<string, string> = {};
  for (const m of section.matchAll(/\n```(sh|text)\n([\s\S]*?)\n```/g)) {
    const [first = '', ...rest] = (m[2] ?? '').split('\n');
    if (m[1] === 'text') {
      const name = /^# file: (\S+)$/.exec(first)?.[1];
      if (!name) throw new Error(`text block without "# file:" line: ${first}`);
      files[name] = rest.join('\n');
      continue;
    }
    const where = /^# \d+\. on (every host|one host|the other hosts|the front-end), as \w+: /.exec(
      first,
    )?.[1];
    if (!where) throw new Error(`sh block without "# N. on <where>, as <user>:" line: ${first}`);
    const lines = rest.filter((line) => line.trim() !== '' && !line.startsWith('#'));
    blocks.push({ where: where as Block['where'], heading: first, lines });
  }
  return { blocks, files };
}

/** `KEY = "VALUE"` lines of a datastore template. */
function templateOf(text: string): Record<string, string> {
  const template: Record<string, string> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const m = /^([A-Z_]+)\s*=\s*"([^"]*)"$/.exec(line);
    if (!m?.[1] || m[2] === undefined) throw new Error(`template line ${JSON.stringify(line)}`);
    template[m[1]] = m[2];
  }
  return template;
}

/** What the drivers read from each datastore's template (one-tm storageFor, one-image cp). */
const SYSTEM_DS_ATTRIBUTES = [
  'TYPE',
  'TM_MAD',
  'VG_NAME',
  'BRIDGE_LIST',
  'ZERO_ON_CREATE',
  'ZERO_ON_DELETE',
  'THIN_PROVISIONING',
];
const IMAGE_DS_ATTRIBUTES = [
  'TYPE',
  'DS_MAD',
  'TM_MAD',
  'DISK_TYPE',
  'DRIVER',
  'VG_NAME',
  'BRIDGE_LIST',
  'ZERO_ON_CREATE',
  'ZERO_ON_DELETE',
  'SAFE_DIRS',
  'RESTRICTED_DIRS',
  'URL_ALLOW_NETS',
];

const guide = readGuide(readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8'));
let cluster: Cluster;
let dir: string;
let feRoot: string;
let sshFlags: string[];
let tm: TmDriver;
let setVm: (id: number, xml: string) => Promise<void>;
const datastores: Record<string, Record<string, string>> = {};

const roots = new Map<string, Runner>();
const rootOn = (host: string) => {
  let runner = roots.get(host);
  if (!runner) {
    runner = cluster.host(host).runner('root');
    roots.set(host, runner);
  }
  return runner;
};

async function onHost(host: string, argv: string[]) {
  return rootOn(host).run(argv, { reject: false, timeoutMs: 300_000 });
}

/** The installer CLI as `npx one-gfs2clvm` runs it, with the test's own flags after the README's. */
async function installer(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const extra: string[] = [];
  if (args.includes('--ssh')) extra.push(...sshFlags);
  if (args.includes('frontend')) extra.push('--root', feRoot);
  // This machine has no oneadmin account: the front-end checks run as root (SSH as oneadmin).
  if (args[0] === 'doctor' && args.includes('frontend')) extra.push('--user', 'root');
  // install --role host is serialised with the other suites' (one-tm's testbed-env ensureHostRole).
  const argv = [process.execPath, CLI, ...args, ...extra];
  const command = args[0] === 'install' ? ['flock', '-w', '900', cluster.state.dir, ...argv] : argv;
  try {
    const [file = '', ...rest] = command;
    const { stdout, stderr } = await execFileP(file, rest, { timeout: 600_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const dmName = (vg: string, lv: string) => `${vg.replace(/-/g, '--')}-${lv.replace(/-/g, '--')}`;

/** Runs (or, for what the cluster's boot did once, checks) one host line of the guide. */
async function hostLine(host: string, argv: string[]): Promise<void> {
  const [program, ...args] = argv;
  const where = `${host}: ${argv.join(' ')}`;
  if (program === 'apt-get') {
    expect(args.slice(0, 2), where).toEqual(['install', '-y']);
    const packages = args.slice(2).filter((pkg) => pkg !== 'libvirt-daemon-system');
    if (packages.length < args.length - 2) {
      // What libvirt-daemon-system lays down and install --role host edits (the hosts have no libvirt).
      const stock = readFileSync(join(import.meta.dirname, 'fixtures/qemu.conf.debian12'));
      await rootOn(host).run(
        [
          'sh',
          '-c',
          'test -f /etc/libvirt/qemu.conf || { mkdir -p /etc/libvirt && cat >/etc/libvirt/qemu.conf; }',
        ],
        { stdin: stock, timeoutMs: 60_000 },
      );
    }
    const status = await onHost(host, ['dpkg-query', '-W', `-f=\${Package} \${Status}\n`, ...packages]);
    expect(status.stdout.trim().split('\n').sort(), where).toEqual(
      packages.map((pkg) => `${pkg} install ok installed`).sort(),
    );
    return;
  }
  if (program === 'lvcreate') {
    const [, name, , , vg] = args; // --name <lv> --size <size> <vg>
    expect(args[0], where).toBe('--name');
    const lvs = await onHost(host, ['lvs', '--noheadings', '-o', 'lv_name', `${vg}/${name}`]);
    expect(lvs.stdout.trim(), where).toBe(name);
    return;
  }
  if (program === 'mkfs.gfs2') {
    const table = args[args.indexOf('-t') + 1] ?? '';
    const journals = Number(args[args.indexOf('-j') + 1]);
    expect(args.slice(0, 2), where).toEqual(['-p', 'lock_dlm']);
    expect(journals, where).toBeGreaterThanOrEqual(cluster.hosts.length);
    // The lock table's file-system part is what the cluster was made with (its cluster name differs).
    const sysfs = await onHost(host, ['ls', '/sys/fs/gfs2']);
    expect(sysfs.stdout.trim().split('\n'), where).toContain(`testbed:${table.split(':')[1]}`);
    return;
  }
  if (program === 'mount') {
    const [device = '', target = ''] = args.slice(-2);
    expect(args.slice(0, 4), where).toEqual(['-t', 'gfs2', '-o', 'noatime']);
    const [, , vg = '', lv = ''] = device.split('/');
    const seen = await onHost(host, ['findmnt', '-n', '-o', 'FSTYPE,SOURCE', '-M', target]);
    expect(seen.stdout.trim().split(/\s+/), where).toEqual(['gfs2', `/dev/mapper/${dmName(vg, lv)}`]);
    return;
  }
  // lvmconfig, vgchange --lockstart, lvchange --activate sy: run as written (they change nothing
  // on a cluster set up so already).
  expect(['lvmconfig', 'vgchange', 'lvchange'], `a guide line the test does not know: ${where}`).toContain(
    program,
  );
  const result = await onHost(host, argv);
  expect(result.exitCode, `${where}: ${result.stderr}`).toBe(0);
  if (program === 'lvmconfig') expect(result.stdout, where).toContain('use_lvmlockd=1');
}

/** Runs one front-end line of the guide. */
async function frontEndLine(argv: string[]): Promise<void> {
  const line = argv.join(' ');
  if (argv[0] === 'npx' && argv[1] === 'one-gfs2clvm') {
    const result = await installer(argv.slice(2));
    expect(result.code, `${line}\n${result.stdout}\n${result.stderr}`).toBe(0);
    if (argv[2] === 'vg-create') {
      // The VG this cluster stands on was made by the printed command (the LUN differs).
      const vg = argv[3] ?? '';
      expect(result.stdout).toMatch(
        new RegExp(`^would run: vgcreate --shared --lock-type sanlock .* ${vg} `),
      );
      const first = cluster.hosts[0]?.name ?? '';
      const type = await onHost(first, ['vgs', '--noheadings', '-o', 'vg_lock_type', vg]);
      expect(type.stdout.trim(), line).toBe('sanlock');
    }
    if (argv[2] === 'doctor') expect(result.stdout, line).not.toMatch(/FAIL/);
    if (argv[2] === 'doctor' && argv.includes('--ssh'))
      for (const host of cluster.hosts)
        expect(result.stdout, line).toContain(
          `${host.name}: OK   datastores root: oneadmin can create directories in ${cluster.datastores}`,
        );
    if (argv[2] === 'install' && argv.includes('host'))
      for (const host of cluster.hosts)
        expect(result.stdout, line).toMatch(
          new RegExp(`^${host.name}: (unchanged|set) ${cluster.datastores}`, 'm'),
        );
    return;
  }
  if (line === 'systemctl restart opennebula') return; // no oned here: the harness reads the files
  const create = /^onedatastore create (\S+)$/.exec(line);
  expect(create, `a guide line the test does not know: ${line}`).not.toBeNull();
  const file = create?.[1] ?? '';
  const text = guide.files[file];
  expect(text, `${line}: no "# file: ${file}" block in the guide`).toBeDefined();
  datastores[file] = templateOf(text ?? '');
}

beforeAll(async () => {
  cluster = await attach();
  dir = await mkdtemp(join(tmpdir(), 'one-gfs2clvm-guide-'));
  await writeSshConfig(cluster, join(dir, 'ssh_config_root'));
  await writeSshConfig(cluster, join(dir, 'ssh_config'), { user: 'oneadmin' });
  const first = cluster.hosts[0];
  if (!first) throw new Error('the testbed has no hosts');
  sshFlags = ['--ssh-config', join(dir, 'ssh_config_root'), '--known-hosts', first.knownHostsFile];
  // The front-end: a tree with OpenNebula's oned.conf, and the admin's driver configuration (the
  // testbed's SSH files), which install --role frontend keeps.
  feRoot = join(dir, 'fe');
  await mkdir(join(feRoot, 'etc/one'), { recursive: true });
  await writeFile(
    join(feRoot, 'etc/one/oned.conf'),
    await readFile(join(import.meta.dirname, 'fixtures/oned.conf.6.10'), 'utf8'),
  );
  await mkdir(join(feRoot, 'var/lib/one/remotes/etc/tm/gfs2clvm'), { recursive: true });
  await writeFile(
    join(feRoot, 'var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf'),
    [
      'SSH_USER=oneadmin',
      `SSH_CONFIG=${join(dir, 'ssh_config')}`,
      `SSH_KNOWN_HOSTS=${first.knownHostsFile}`,
      `SSH_IDENTITY=${first.identityFile}`,
      'SSH_CONNECT_TIMEOUT=30',
      `LOCK_DIR=${join(dir, 'lock')}`,
      '',
    ].join('\n'),
  );
  // A first prolog finds no system datastore dir (what the guide promises the driver handles).
  await onHost(first.name, ['rm', '-r', '-f', '--one-file-system', '--', `${cluster.datastores}/${SYS_DS}`]);
}, 300_000);

afterAll(async () => {
  const first = cluster?.hosts[0]?.name;
  if (first) {
    await onHost(first, ['sh', '-c', `lvremove -y vg-one-100/lv-one-${VM}-0 >/dev/null 2>&1; true`]);
    await onHost(first, ['rm', '-r', '-f', '--one-file-system', '--', `${cluster.datastores}/${SYS_DS}`]);
  }
  await Promise.all([...roots.values()].map((r) => r.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the README operator guide, followed on the emulated cluster', () => {
  it('has its steps in order, with both datastore files', () => {
    expect(guide.blocks.map((b) => Number(/^# (\d+)\./.exec(b.heading)?.[1]))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(Object.keys(guide.files).sort()).toEqual(['images.ds', 'system.ds']);
    // Plain words only: each line is an argv as it stands (no quoting, no shell).
    for (const block of guide.blocks)
      for (const line of block.lines) expect(line).toMatch(/^[\w@./:,=+-]+( [\w@./:,=+-]+)*$/);
  });

  it('every line runs (or checks) where its block says, in order', async () => {
    const [first, ...others] = cluster.hosts.map((h) => h.name);
    for (const block of guide.blocks) {
      const hosts = {
        'every host': cluster.hosts.map((h) => h.name),
        'one host': [first ?? ''],
        'the other hosts': others,
        'the front-end': [],
      }[block.where];
      for (const line of block.lines) {
        const argv = line.split(' ');
        if (block.where === 'the front-end') await frontEndLine(argv);
        else await Promise.all(hosts.map((host) => hostLine(host, argv)));
      }
    }
  }, 900_000);

  it('the datastore templates carry every attribute the drivers read', () => {
    const system = datastores['system.ds'] ?? {};
    const images = datastores['images.ds'] ?? {};
    expect(
      Object.keys(system)
        .filter((k) => SYSTEM_DS_ATTRIBUTES.includes(k))
        .sort(),
    ).toEqual([...SYSTEM_DS_ATTRIBUTES].sort());
    expect(
      Object.keys(images)
        .filter((k) => IMAGE_DS_ATTRIBUTES.includes(k))
        .sort(),
    ).toEqual([...IMAGE_DS_ATTRIBUTES].sort());
    expect(system).toMatchObject({ TYPE: 'SYSTEM_DS', TM_MAD: 'gfs2clvm', VG_NAME: cluster.sharedVg });
    expect(images).toMatchObject({ TYPE: 'IMAGE_DS', DS_MAD: 'gfs2clvm', TM_MAD: 'gfs2clvm' });
  });

  it('a VM disk is created and deleted through the installed TM scripts, as oned does', async () => {
    const system = datastores['system.ds'] ?? {};
    const images = datastores['images.ds'] ?? {};
    const oned = await createFakeOned(join(dir, 'one'));
    await oned.setHosts(hostPoolXml(cluster.hosts.map((h) => h.name)));
    await oned.setDatastore(SYS_DS, datastoreXml({ id: SYS_DS, type: 1, template: system }));
    await oned.setDatastore(
      IMG_DS,
      datastoreXml({ id: IMG_DS, type: 0, dsMad: 'gfs2clvm', template: images }),
    );
    setVm = (id, xml) => oned.setVm(id, xml);
    await setVm(
      VM,
      vmXml({
        id: VM,
        host: 'node1',
        systemDs: SYS_DS,
        disks: [{ id: 0, type: 'fs', sizeMiB: 16 }],
      }),
    );
    tm = new TmDriver({
      remotesDir: join(feRoot, 'var/lib/one/remotes'),
      drivers: ['gfs2clvm'],
      cwd: dir,
      // GFS2CLVM_CONF unset: the installed scripts find the installed config next to themselves.
      env: { ...process.env, ...oned.env, GFS2CLVM_CONF: '' },
    });
    await tm.init();
    const vmDir = `${cluster.datastores}/${SYS_DS}/${VM}`;
    const made = await tm.transferLines(VM, [
      `MKIMAGE gfs2clvm 16 raw node1:${vmDir}/disk.0 ${VM} ${SYS_DS}`,
    ]);
    expect(made.reply, made.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
    const link = await onHost('node1', ['readlink', '--', `${vmDir}/disk.0`]);
    expect(link.stdout.trim()).toBe(`/dev/${cluster.sharedVg}/lv-one-${VM}-0`);
    const owner = await onHost('node1', ['stat', '-c', '%U', '--', `${cluster.datastores}/${SYS_DS}`]);
    expect(owner.stdout.trim()).toBe('oneadmin');

    const gone = await tm.transferLines(
      VM,
      [
        `DELETE gfs2clvm node1:${vmDir}/disk.0 ${VM} ${SYS_DS}`,
        `DELETE gfs2clvm node1:${vmDir} ${VM} ${SYS_DS}`,
      ],
      'epilog',
    );
    expect(gone.reply, gone.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
    const lv = await onHost('node1', ['lvs', `${cluster.sharedVg}/lv-one-${VM}-0`]);
    expect(lv.exitCode).not.toBe(0);
    expect((await onHost('node1', ['test', '-e', vmDir])).exitCode).toBe(1);
  }, 600_000);
});
