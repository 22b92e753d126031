import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  createFakeOned,
  DsDriver,
  datastoreXml,
  dsActionData,
  type FakeOned,
  hostPoolXml,
  TmDriver,
} from '@one-gfs2clvm/one-harness';
import { type Cluster, writeSshConfig } from '@one-gfs2clvm/testbed';
import { DemoError } from './errors.js';

export const SYS_DS = 100;
export const IMG_DS = 101;

/** The image datastore's template, as `onedatastore create` would stamp it for gfs2clvm. */
const IMG_DS_TEMPLATE: Record<string, string> = {
  DS_MAD: 'gfs2clvm',
  TM_MAD: 'gfs2clvm',
  TYPE: 'IMAGE_DS',
  VG_NAME: 'vg-one-100',
  DISK_TYPE: 'BLOCK',
  DRIVER: 'raw',
};

const cdata = (value: string) => `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

/** `DS_DRIVER_ACTION_DATA` of an image action on the image datastore: oned's `<IMAGE>` then the datastore. */
export function imageActionData(image: string): string {
  const template = Object.entries(IMG_DS_TEMPLATE)
    .map(([k, v]) => `<${k}>${cdata(v)}</${k}>`)
    .join('');
  return dsActionData({
    dsMad: 'gfs2clvm',
    tmMad: 'gfs2clvm',
    type: 0,
    id: IMG_DS,
    before: image,
    datastoreExtra: `<NAME>${cdata(`ds${IMG_DS}`)}</NAME><BASE_PATH>/var/lib/one//datastores/${IMG_DS}</BASE_PATH><CLUSTERS><ID>0</ID></CLUSTERS><TEMPLATE>${template}</TEMPLATE>`,
  });
}

/**
 * The front-end side of the demo, as `oned` would have it: the BUILT action scripts laid out like
 * `/var/lib/one/remotes`, the drivers' configuration, `one_tm.rb` and `one_datastore.rb` stand-ins
 * (tools/one-harness) and oned's CLI faked for the drivers' callbacks (`onevm show -x` …).
 */
export interface FrontEnd {
  dir: string;
  remotesDir: string;
  tm: TmDriver;
  ds: DsDriver;
  oned: FakeOned;
  /** Removes the folder. */
  remove(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** `dist/remotes/<kind>/gfs2clvm` of a built workspace package. */
export function builtRemotes(pkg: string, kind: 'tm' | 'datastore'): string {
  const dir = join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'remotes', kind, 'gfs2clvm');
  if (!existsSync(dir)) throw new DemoError(`${dir} is missing: run pnpm run build first`);
  return dir;
}

/** Front-end laid out in a fresh temporary folder; the SSH client goes to the testbed's hosts as root. */
export async function setUpFrontEnd(cluster: Cluster): Promise<FrontEnd> {
  const dir = await mkdtemp(join(tmpdir(), 'one-gfs2clvm-demo-'));
  try {
    const remotesDir = join(dir, 'remotes');
    // Copied as the installer copies them (a rebuild of the packages meanwhile cannot pull them away).
    await cp(builtRemotes('@one-gfs2clvm/one-tm', 'tm'), join(remotesDir, 'tm', 'gfs2clvm'), {
      recursive: true,
    });
    await cp(
      builtRemotes('@one-gfs2clvm/one-image', 'datastore'),
      join(remotesDir, 'datastore', 'gfs2clvm'),
      {
        recursive: true,
      },
    );

    const first = cluster.hosts[0];
    if (!first) throw new DemoError('the testbed has no hosts');
    await writeSshConfig(cluster, join(dir, 'ssh_config'));
    // Root over SSH with plain LVM: the host helper (installer, `install --role host`) is not laid
    // down on the testbed by a reusable step yet; production runs as oneadmin through it.
    await writeFile(
      join(dir, 'gfs2clvm.conf'),
      [
        'SSH_USER=root',
        'LVM_BACKEND=lvm',
        'LVM_PREFIX=lvm',
        `SSH_CONFIG=${join(dir, 'ssh_config')}`,
        `SSH_KNOWN_HOSTS=${first.knownHostsFile}`,
        'FRONTEND_HOSTS=fe',
        'SSH_CONNECT_TIMEOUT=30',
        `LOCK_DIR=${join(dir, 'lock')}`,
        '',
      ].join('\n'),
    );

    const oned = await createFakeOned(join(dir, 'one'));
    await oned.setDatastore(
      SYS_DS,
      datastoreXml({ id: SYS_DS, type: 1, template: { SHARED: 'YES', TM_MAD: 'gfs2clvm' } }),
    );
    await oned.setDatastore(
      IMG_DS,
      datastoreXml({ id: IMG_DS, type: 0, dsMad: 'gfs2clvm', template: IMG_DS_TEMPLATE }),
    );
    await oned.setHosts(hostPoolXml(cluster.hosts.map((h) => h.name)));

    const env = { ...process.env, ...oned.env, GFS2CLVM_CONF: join(dir, 'gfs2clvm.conf') };
    const tm = new TmDriver({ remotesDir, drivers: ['gfs2clvm'], cwd: dir, env });
    await tm.init();
    const ds = new DsDriver({
      remotesDir,
      drivers: ['gfs2clvm'],
      systemDrivers: ['gfs2clvm'],
      cwd: dir,
      env,
      timeoutSeconds: 300,
    });
    await ds.init();
    return { dir, remotesDir, tm, ds, oned, remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
