import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base64, DsDriver, TmDriver } from '@one-gfs2clvm/one-harness';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';

/** The built driver, laid out as `<remotes>/tm/gfs2clvm/<action>` (tests run what gets installed). */
export const REMOTES = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'remotes');

export const MiB = 2 ** 20;
export const SYS_DS = 100;
export const IMG_DS = 101;
export const VG = 'vg-one-100';

export interface DiskSpec {
  id: number;
  type?: string;
  sizeMiB?: number;
  fs?: string;
  persistent?: boolean;
  source?: string;
}

/** A `<VM>` document in oned's shape with what the driver reads (fixtures/opennebula/vm-7.xml). */
export function vmXml(id: number, host: string, disks: DiskSpec[], lcmState = 3): string {
  const cdata = (tag: string, value: string | number | undefined) =>
    value === undefined ? '' : `<${tag}><![CDATA[${value}]]></${tag}>`;
  const diskXml = disks
    .map(
      (d) =>
        `<DISK>${cdata('DISK_ID', d.id)}${cdata('TYPE', d.type ?? 'BLOCK')}${cdata('SIZE', d.sizeMiB)}${cdata('FS', d.fs)}` +
        `${cdata('PERSISTENT', d.persistent ? 'YES' : undefined)}${cdata('CLONE', d.persistent ? 'NO' : 'YES')}` +
        `${cdata('SOURCE', d.source)}${cdata('DATASTORE_ID', d.source ? IMG_DS : SYS_DS)}${cdata('TM_MAD', 'gfs2clvm')}</DISK>`,
    )
    .join('');
  return (
    `<VM><ID>${id}</ID><UID>0</UID><NAME>vm${id}</NAME><STATE>3</STATE><LCM_STATE>${lcmState}</LCM_STATE>` +
    `<TEMPLATE>${diskXml}<VMID><![CDATA[${id}]]></VMID></TEMPLATE>` +
    `<HISTORY_RECORDS><HISTORY><OID>${id}</OID><SEQ>0</SEQ><HOSTNAME>${host}</HOSTNAME><HID>0</HID><DS_ID>${SYS_DS}</DS_ID><TM_MAD>gfs2clvm</TM_MAD></HISTORY></HISTORY_RECORDS></VM>`
  );
}

function datastoreXml(id: number, type: number, template: Record<string, string>): string {
  const t = Object.entries(template)
    .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
    .join('');
  return `<DATASTORE><ID>${id}</ID><NAME>ds${id}</NAME><TM_MAD><![CDATA[gfs2clvm]]></TM_MAD><BASE_PATH>/var/lib/one//datastores/${id}</BASE_PATH><TYPE>${type}</TYPE><CLUSTERS><ID>0</ID></CLUSTERS><TEMPLATE>${t}</TEMPLATE></DATASTORE>`;
}

/** Fake OpenNebula CLI commands printing the XML files of a folder (the pluggable oned client, faked). */
const FAKE_CLI = (kind: string, usage: string, file: string) => `#!/bin/sh
# fake ${kind} for the gfs2clvm driver tests: ${usage}
case "$1 $2" in
  "${usage}") ;;
  *) echo "fake ${kind}: unsupported arguments: $*" >&2; exit 1 ;;
esac
f="$FAKE_ONE_DIR/${file}"
[ -f "$f" ] || { echo "[one.${kind}.info] Error getting object [$3]." >&2; exit 255; }
exec cat "$f"
`;

export interface Env {
  cluster: Cluster;
  dir: string;
  tm: TmDriver;
  /** one_datastore.rb stand-in: system-DS MONITOR goes to tm/gfs2clvm/monitor. */
  ds: DsDriver;
  root: (host: string) => Runner;
  /** Writes the answer of `onevm show -x <id>`. */
  setVm: (id: number, xml: string) => Promise<void>;
  vmB64: (xml: string) => string;
}

/** Attaches to the testbed and lays out the front-end side: driver config, SSH config, fake CLI. */
export async function setUpEnv(
  options: { extraSshConfig?: string; datastores?: Record<number, Record<string, string>> } = {},
): Promise<Env> {
  if (!existsSync(join(REMOTES, 'tm', 'gfs2clvm', 'gfs2clvm-tm.mjs')))
    throw new Error(`${REMOTES} is not built: run pnpm --filter @one-gfs2clvm/one-tm build`);
  const cluster = await attach();
  const dir = await mkdtemp(join(tmpdir(), 'one-tm-e2e-'));
  const bin = join(dir, 'bin');
  const one = join(dir, 'one');
  await mkdir(bin);
  await mkdir(one);
  const first = cluster.hosts[0];
  if (!first) throw new Error('testbed has no hosts');

  const sshConfig = cluster.hosts
    .map(
      (h) =>
        `Host ${h.name}\n  HostName 127.0.0.1\n  Port ${h.sshPort}\n  User root\n  IdentityFile ${h.identityFile}\n`,
    )
    .join('');
  await writeFile(join(dir, 'ssh_config'), sshConfig + (options.extraSshConfig ?? ''));
  await writeFile(
    join(dir, 'gfs2clvm.conf'),
    [
      '# testbed: root over SSH with plain LVM (the host helper is laid down by the installer)',
      'SSH_USER=root',
      'LVM_BACKEND=lvm',
      'LVM_PREFIX=lvm',
      `SSH_CONFIG=${join(dir, 'ssh_config')}`,
      `SSH_KNOWN_HOSTS=${first.knownHostsFile}`,
      'FRONTEND_HOSTS=fe',
      'SSH_CONNECT_TIMEOUT=10',
      `LOCK_DIR=${join(dir, 'lock')}`,
      'DEBUG=yes',
      '',
    ].join('\n'),
  );
  for (const [kind, usage, file] of [
    ['onevm', 'show -x', 'vm-$3.xml'],
    ['onedatastore', 'show -x', 'ds-$3.xml'],
    ['onehost', 'list -x', 'hosts.xml'],
  ] as const) {
    await writeFile(join(bin, kind), FAKE_CLI(kind, usage, file));
    await chmod(join(bin, kind), 0o755);
  }
  await writeFile(
    join(one, `ds-${SYS_DS}.xml`),
    datastoreXml(SYS_DS, 1, { SHARED: 'YES', TM_MAD: 'gfs2clvm' }),
  );
  await writeFile(join(one, `ds-${IMG_DS}.xml`), datastoreXml(IMG_DS, 0, { TM_MAD: 'gfs2clvm' }));
  for (const [id, template] of Object.entries(options.datastores ?? {}))
    await writeFile(join(one, `ds-${id}.xml`), datastoreXml(Number(id), 1, template));
  await writeFile(
    join(one, 'hosts.xml'),
    `<HOST_POOL>${cluster.hosts.map((h, i) => `<HOST><ID>${i}</ID><NAME>${h.name}</NAME><STATE>2</STATE><CLUSTER_ID>0</CLUSTER_ID></HOST>`).join('')}</HOST_POOL>`,
  );

  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    FAKE_ONE_DIR: one,
    GFS2CLVM_CONF: join(dir, 'gfs2clvm.conf'),
  };
  const tm = new TmDriver({ remotesDir: REMOTES, drivers: ['gfs2clvm'], cwd: dir, env });
  await tm.init();
  const ds = new DsDriver({
    remotesDir: REMOTES,
    drivers: [],
    systemDrivers: ['gfs2clvm'],
    cwd: dir,
    env,
    timeoutSeconds: 300,
  });
  await ds.init();
  return {
    cluster,
    dir,
    tm,
    ds,
    root: (host) => cluster.host(host).runner('root'),
    setVm: (id, xml) => writeFile(join(one, `vm-${id}.xml`), xml),
    vmB64: (xml) => base64(xml),
  };
}

/** Runs a command as root on a testbed host and returns its trimmed stdout. */
export async function sh(runner: Runner, argv: string[]): Promise<string> {
  return (await runner.run(argv, { timeoutMs: 300_000 })).stdout.trim();
}

export interface LvState {
  active: boolean;
  /** The lvmlockd lock this host holds on the LV: `ex`, `sh` or `null`. */
  lock: 'ex' | 'sh' | null;
  tags: string[];
}

/**
 * One LV as `host` sees it; `null` when it does not exist. The lock mode comes from lvmlockd itself
 * (`lvmlockctl --info`: `LK LV ex|sh <uuid>`): `lvs`' lv_active_exclusively says "exclusively" for
 * every locally active LV under lvmlockd (LVM 2.03.16), shared or not.
 */
export async function lvState(runner: Runner, vg: string, lv: string): Promise<LvState | null> {
  const r = await runner.run(
    ['lvs', '--noheadings', '--separator', '|', '-o', 'lv_uuid,lv_active_locally,lv_tags', `${vg}/${lv}`],
    { reject: false, timeoutMs: 120_000 },
  );
  if (r.exitCode !== 0) {
    if (/Failed to find logical volume/.test(r.stderr)) return null;
    throw new Error(`lvs ${vg}/${lv} on ${runner.host}: ${r.stderr}`);
  }
  const [uuid = '', local = '', tags = ''] = r.stdout
    .trim()
    .split('|')
    .map((f) => f.trim());
  const info = await runner.run(['lvmlockctl', '--info'], { timeoutMs: 60_000 });
  const held = info.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((w) => w[0] === 'LK' && w[1] === 'LV' && w[3] === uuid);
  const mode = held?.[2];
  return {
    active: local === 'active locally',
    lock: mode === 'ex' || mode === 'sh' ? mode : null,
    tags: tags ? tags.split(',') : [],
  };
}

/** sha256 of `count` MiB of the device at `skip` MiB, read on `runner`'s host. */
export async function sumOf(runner: Runner, dev: string, skip: number, count: number): Promise<string> {
  const out = await sh(runner, [
    'sh',
    '-c',
    'dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none | sha256sum',
    'sum',
    dev,
    String(skip),
    String(count),
  ]);
  return out.split(' ')[0] as string;
}

/** sha256 of `mib` MiB of zeros, computed on `runner`'s host. */
export async function zeroSum(runner: Runner, mib: number): Promise<string> {
  return (await sh(runner, ['sh', '-c', 'head -c "$1" /dev/zero | sha256sum', 'z', String(mib * MiB)])).split(
    ' ',
  )[0] as string;
}

/**
 * Removes what a failed test may have left of a VM: its LVs deactivated on both hosts and removed,
 * its directory on GFS2; then closes the cluster's connections. Failures are ignored (best effort).
 */
export async function cleanUp(env: Env, vmId: number, lvNames: string[]): Promise<void> {
  const [n1, n2] = [env.root('node1'), env.root('node2')];
  const lenient = { reject: false, timeoutMs: 120_000 };
  for (const name of lvNames) {
    await n2.run(['lvchange', '-an', `${VG}/${name}`], lenient);
    await n1.run(['lvchange', '-an', `${VG}/${name}`], lenient);
    await n1.run(['lvremove', '-y', `${VG}/${name}`], lenient);
  }
  await n1.run(['rm', '-rf', `/var/lib/one/datastores/${SYS_DS}/${vmId}`], lenient);
  await env.cluster.close();
}
