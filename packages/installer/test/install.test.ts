import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assetPath } from '../src/assets.js';
import { localExec } from '../src/exec.js';
import { LocalTarget } from '../src/target.js';
import { visudoValidation } from '../src/validators.js';
import { dryRunText, localCli, modeOf, reinstallChangesNothing, removeDir, scratchDir } from './local-cli.js';
import { snapshotTree } from './tree.js';

const fixtures = join(import.meta.dirname, 'fixtures');
let root: string;

const { cli, out, err } = localCli();

/** A host's root as libvirt, polkit and sudo leave it, with something of the admin's in sudoers.d. */
function hostRoot(): string {
  const dir = scratchDir('root');
  mkdirSync(join(dir, 'etc/libvirt'), { recursive: true });
  cpSync(join(fixtures, 'qemu.conf.debian12'), join(dir, 'etc/libvirt/qemu.conf'));
  mkdirSync(join(dir, 'etc/polkit-1/rules.d'), { recursive: true });
  mkdirSync(join(dir, 'etc/sudoers.d'), { recursive: true });
  writeFileSync(join(dir, 'etc/sudoers.d/README'), "# the admin's own\n", { mode: 0o440 });
  return dir;
}

beforeEach(() => {
  root = hostRoot();
});
afterEach(() => removeDir(root));

describe('install --role host: the GFS2 datastores root (issue 13 item 3)', () => {
  // Under --root the mount table is <root>/proc/self/mounts; chown is real (the tests run as root),
  // with nobody:nogroup standing in for oneadmin (this machine has no oneadmin account).
  const ds = () => join(root, 'var/lib/one/datastores');
  const owner = () => {
    const info = statSync(ds());
    return `${info.uid}:${info.gid} ${(info.mode & 0o7777).toString(8)}`;
  };
  const flags = () => ['--role', 'host', '--root', root, '--user', 'nobody', '--group', 'nogroup'];
  beforeEach(() => {
    mkdirSync(ds(), { recursive: true, mode: 0o777 });
    chmodSync(ds(), 0o777);
    mkdirSync(join(root, 'proc/self'), { recursive: true });
  });
  const mounted = (fstype: string) =>
    writeFileSync(
      join(root, 'proc/self/mounts'),
      `/dev/sda1 / ext4 rw 0 0\n/dev/mapper/vg--one--100-gfs2 /var/lib/one/datastores ${fstype} rw,noatime 0 0\n`,
    );

  it("makes a GFS2 root the user's (u+rwx, o-w), once; uninstall puts owner and mode back", async () => {
    mounted('gfs2');
    expect(await cli('install', ...flags(), '--dry-run')).toBe(0);
    expect(out).toContain('would set /var/lib/one/datastores: root:root 0777 -> nobody:nogroup 0775');
    expect(owner()).toBe('0:0 777');
    expect(await cli('install', ...flags())).toBe(0);
    expect(out).toContain('set /var/lib/one/datastores: root:root 0777 -> nobody:nogroup 0775');
    expect(owner()).toBe('65534:65534 775');
    const manifest = JSON.parse(readFileSync(join(root, 'var/lib/one-gfs2clvm/manifest.json'), 'utf8'));
    expect(manifest.owners['/var/lib/one/datastores']).toEqual({
      role: 'host',
      before: { user: 'root', group: 'root', mode: '0777' },
      after: { user: 'nobody', group: 'nogroup', mode: '0775' },
    });
    expect(await cli('install', ...flags())).toBe(0);
    expect(out).toContain('unchanged /var/lib/one/datastores (nobody:nogroup 0775)');
    expect(out.at(-1)).toBe('changed 0 file(s)');
    expect(await cli('uninstall', '--root', root)).toBe(0);
    expect(out).toContain('restored /var/lib/one/datastores: root:root 0777');
    expect(owner()).toBe('0:0 777');
    expect(existsSync(join(root, 'var/lib/one-gfs2clvm/manifest.json'))).toBe(false);
  });

  it('leaves the directory alone when it is not a GFS2 mount, and says so', async () => {
    mounted('ext4');
    expect(await cli('install', ...flags())).toBe(0);
    expect(out).toContain(
      'note: /var/lib/one/datastores is ext4, not GFS2; its owner is left alone (mount GFS2 there, then run again)',
    );
    expect(owner()).toBe('0:0 777');
  });

  it('uninstall keeps an owner the admin changed since', async () => {
    mounted('gfs2');
    await cli('install', ...flags());
    chmodSync(ds(), 0o750);
    expect(await cli('uninstall', '--root', root)).toBe(0);
    expect(out).toContain(
      'WARN kept /var/lib/one/datastores (nobody:nogroup 0750): changed since it was installed',
    );
    expect(owner()).toBe('65534:65534 750');
  });
});

describe('install --role host --root', () => {
  it('lays down the helper, sudoers, udev, polkit, qemu.conf keys and the unit', async () => {
    expect(await cli('install', '--role', 'host', '--root', root)).toBe(0);
    const mode = (p: string) => modeOf(join(root, p), 0o7777);
    expect(readFileSync(join(root, 'usr/local/sbin/one-gfs2clvm-helper'), 'utf8')).toBe(
      readFileSync(assetPath('one-gfs2clvm-helper'), 'utf8'),
    );
    expect(mode('usr/local/sbin/one-gfs2clvm-helper')).toBe('755');
    expect(mode('etc/sudoers.d/one-gfs2clvm')).toBe('440');
    const visudo = spawnSync('visudo', ['-c', '-f', join(root, 'etc/sudoers.d/one-gfs2clvm')], {
      encoding: 'utf8',
    });
    expect(visudo.status).toBe(0);
    expect(readFileSync(join(root, 'etc/sudoers.d/one-gfs2clvm'), 'utf8')).toContain(
      'oneadmin ALL=(root) NOPASSWD: /usr/local/sbin/one-gfs2clvm-helper\n',
    );
    expect(readFileSync(join(root, 'etc/udev/rules.d/90-one-gfs2clvm.rules'), 'utf8')).toContain(
      'OWNER="oneadmin"',
    );
    expect(readFileSync(join(root, 'etc/polkit-1/rules.d/50-one-gfs2clvm.rules'), 'utf8')).toContain(
      'org.libvirt.unix.manage',
    );
    const qemu = readFileSync(join(root, 'etc/libvirt/qemu.conf'), 'utf8');
    expect(qemu).toContain('\nuser = "oneadmin"\n');
    expect(qemu).toContain('\ndynamic_ownership = 0\n');
    expect(readFileSync(join(root, 'etc/systemd/system/one-gfs2clvm-reactivate.service'), 'utf8')).toContain(
      'ExecStart=/usr/local/sbin/one-gfs2clvm-helper reactivate-boot',
    );
    const manifest = JSON.parse(readFileSync(join(root, 'var/lib/one-gfs2clvm/manifest.json'), 'utf8'));
    expect(Object.keys(manifest.files)).toHaveLength(6);
    expect(out).toContain('skipped under --root: udevadm control --reload');
    // No temporary file is left next to what was written.
    expect(readdirSync(join(root, 'etc/sudoers.d')).sort()).toEqual(['README', 'one-gfs2clvm']);
  });

  it('changes nothing the second time', async () => {
    await cli('install', '--role', 'host', '--root', root);
    await reinstallChangesNothing(cli, out, root, 'host');
  });

  it('--dry-run prints unified diffs and changes nothing', async () => {
    const text = await dryRunText(cli, out, root, 'host');
    expect(text).toContain('+++ b/etc/sudoers.d/one-gfs2clvm');
    expect(text).toMatch(/--- a\/etc\/libvirt\/qemu.conf\n\+\+\+ b\/etc\/libvirt\/qemu.conf\n@@ /);
    expect(text).toContain('\n+user = "oneadmin"');
    expect(out.at(-1)).toBe('dry run: would change 7 file(s)');
  });

  it('uninstall leaves the root exactly as it was', async () => {
    const before = snapshotTree(root);
    await cli('install', '--role', 'host', '--root', root);
    expect(await cli('uninstall', '--root', root, '--dry-run')).toBe(0);
    expect(out.join('\n')).toContain('-oneadmin ALL=(root) NOPASSWD');
    expect(await cli('uninstall', '--root', root)).toBe(0);
    expect(snapshotTree(root)).toEqual(before);
    // The helper's run-time folder goes with it (a host command: not run under --root).
    expect(out).toContain('skipped under --root: rm -rf -- /run/one-gfs2clvm');
    // A second uninstall has nothing to do and says so.
    expect(await cli('uninstall', '--root', root)).toBe(0);
    expect(out).toEqual(['nothing to uninstall: no manifest at /var/lib/one-gfs2clvm/manifest.json']);
  });

  it('uninstall keeps a file the admin changed since, and still restores the rest', async () => {
    const qemuBefore = readFileSync(join(root, 'etc/libvirt/qemu.conf'));
    await cli('install', '--role', 'host', '--root', root);
    writeFileSync(join(root, 'etc/udev/rules.d/90-one-gfs2clvm.rules'), '# mine now\n');
    expect(await cli('uninstall', '--root', root)).toBe(0);
    expect(out).toContain(
      'WARN kept /etc/udev/rules.d/90-one-gfs2clvm.rules: changed since it was installed',
    );
    expect(readFileSync(join(root, 'etc/udev/rules.d/90-one-gfs2clvm.rules'), 'utf8')).toBe('# mine now\n');
    expect(readFileSync(join(root, 'etc/libvirt/qemu.conf'))).toEqual(qemuBefore);
    expect(() => statSync(join(root, 'etc/sudoers.d/one-gfs2clvm'))).toThrow();
  });

  it('reinstall does not overwrite a file the admin changed', async () => {
    await cli('install', '--role', 'host', '--root', root);
    writeFileSync(join(root, 'etc/one-gfs2clvm/helper.conf'), 'allow_vg vg-san-*\n');
    expect(await cli('install', '--role', 'host', '--root', root)).toBe(0);
    expect(out).toContain(
      'WARN kept /etc/one-gfs2clvm/helper.conf: changed since it was installed (remove it and run again to replace it)',
    );
    expect(readFileSync(join(root, 'etc/one-gfs2clvm/helper.conf'), 'utf8')).toBe('allow_vg vg-san-*\n');
  });

  it('saves a file that stood in its place and puts it back at uninstall', async () => {
    const old = 'oneadmin ALL=(ALL) NOPASSWD: /sbin/lvcreate\n';
    writeFileSync(join(root, 'etc/sudoers.d/one-gfs2clvm'), old, { mode: 0o440 });
    const before = snapshotTree(root);
    expect(await cli('install', '--role', 'host', '--root', root)).toBe(0);
    expect(out).toContain(
      'saved /etc/sudoers.d/one-gfs2clvm to /var/lib/one-gfs2clvm/backup/etc/sudoers.d/one-gfs2clvm',
    );
    expect(readFileSync(join(root, 'etc/sudoers.d/one-gfs2clvm'), 'utf8')).not.toContain('lvcreate');
    expect(await cli('uninstall', '--root', root)).toBe(0);
    expect(snapshotTree(root)).toEqual(before);
  });

  // A qemu.conf the installer cannot take: one line on stderr, exit 1, and the tree as it was.
  it.each([
    [
      'stops with one line and changes nothing when qemu.conf is missing',
      (qemuConf: string) => rmSync(qemuConf),
      'one-gfs2clvm: /etc/libvirt/qemu.conf not found: install libvirt first (apt-get install libvirt-daemon-system), then run again',
    ],
    [
      'stops with one line when a key is set twice in qemu.conf',
      (qemuConf: string) => writeFileSync(qemuConf, 'user = "a"\nuser = "b"\n'),
      'one-gfs2clvm: /etc/libvirt/qemu.conf: user is set 2 times; keep one and run again',
    ],
  ])('%s', async (_name, spoil, line) => {
    spoil(join(root, 'etc/libvirt/qemu.conf'));
    const before = snapshotTree(root);
    expect(await cli('install', '--role', 'host', '--root', root)).toBe(1);
    expect(err).toEqual([line]);
    expect(snapshotTree(root)).toEqual(before);
  });

  it('takes other user, VG and LV patterns, and refuses hostile ones with one line', async () => {
    expect(
      await cli(
        'install',
        '--role',
        'host',
        '--root',
        root,
        '--vg-pattern',
        'vg-san-*',
        '--lv-pattern',
        'lv-one-*',
      ),
    ).toBe(0);
    expect(readFileSync(join(root, 'etc/one-gfs2clvm/helper.conf'), 'utf8')).toContain(
      'allow_vg vg-san-*\nallow_lv lv-one-*\n',
    );
    rmSync(root, { recursive: true });
    root = hostRoot();
    const before = snapshotTree(root);
    for (const args of [
      ['--vg-pattern', 'vg", RUN+="/bin/sh'],
      ['--user', 'root ALL=(ALL) ALL'],
      ['--lv-pattern', '*\nallow_vg *'],
    ]) {
      expect(await cli('install', '--role', 'host', '--root', root, ...args)).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^one-gfs2clvm: invalid /);
    }
    expect(snapshotTree(root)).toEqual(before);
  });
});

describe('writing through visudo', () => {
  it('refuses a broken sudoers fragment and leaves nothing behind', async () => {
    const dir = join(root, 'etc/sudoers.d');
    await expect(
      new LocalTarget(root, localExec).write(
        '/etc/sudoers.d/one-gfs2clvm',
        'oneadmin ALL=(root NOPASSWD: /bin/true\n',
        0o440,
        visudoValidation,
      ),
    ).rejects.toThrow(/sudoers fragment rejected by visudo/);
    expect(readdirSync(dir)).toEqual(['README']);
  });
});

describe('install --role frontend --root', () => {
  const onedConf =
    'TM_MAD = [\n    EXECUTABLE = "one_tm",\n    ARGUMENTS = "-t 15 -d dummy,fs_lvm"\n]\n\nDATASTORE_MAD = [\n    EXECUTABLE = "one_datastore",\n    ARGUMENTS = "-t 15 -d dummy,fs -s shared,fs_lvm"\n]\n';
  const vmmExecrc = '# live disk snapshots\nLIVE_DISK_SNAPSHOTS="kvm-qcow2 qemu-qcow2"\nVIRSH_TIMEOUT=60\n';
  beforeEach(() => {
    mkdirSync(join(root, 'etc/one/vmm_exec'), { recursive: true });
    writeFileSync(join(root, 'etc/one/oned.conf'), onedConf, { mode: 0o640 });
    writeFileSync(join(root, 'etc/one/vmm_exec/vmm_execrc'), vmmExecrc, { mode: 0o644 });
  });

  /** A build laid out like /var/lib/one/remotes, as the driver packages make under dist/remotes. */
  function builtRemotes(): string {
    const built = scratchDir('remotes');
    mkdirSync(join(built, 'tm/gfs2clvm'), { recursive: true });
    mkdirSync(join(built, 'datastore/gfs2clvm'), { recursive: true });
    mkdirSync(join(built, 'etc/tm/gfs2clvm'), { recursive: true });
    writeFileSync(join(built, 'tm/gfs2clvm/clone'), '#!/usr/bin/env node\nimport("./gfs2clvm-tm.mjs");\n', {
      mode: 0o755,
    });
    writeFileSync(join(built, 'tm/gfs2clvm/gfs2clvm-tm.mjs'), 'export {};\n', { mode: 0o644 });
    writeFileSync(join(built, 'datastore/gfs2clvm/cp'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    writeFileSync(join(built, 'etc/tm/gfs2clvm/gfs2clvm.conf'), '# ZERO_ON_DELETE=yes\n');
    return built;
  }

  it('says which driver package is not built, and changes nothing', async () => {
    const empty = scratchDir('remotes');
    const before = snapshotTree(root);
    try {
      expect(await cli('install', '--role', 'frontend', '--root', root, '--drivers-from', empty)).toBe(1);
      expect(err).toEqual([
        `one-gfs2clvm: driver package not built: @one-gfs2clvm/one-tm (no ${empty}/tm/gfs2clvm); build it, or pass --no-drivers to only register the driver`,
      ]);
      mkdirSync(join(empty, 'tm/gfs2clvm'), { recursive: true });
      writeFileSync(join(empty, 'tm/gfs2clvm/clone'), '#!/bin/sh\n');
      expect(await cli('install', '--role', 'frontend', '--root', root, '--drivers-from', empty)).toBe(1);
      expect(err[0]).toMatch(/^one-gfs2clvm: driver package not built: @one-gfs2clvm\/one-image /);
    } finally {
      removeDir(empty);
    }
    expect(snapshotTree(root)).toEqual(before);
  });

  it('--no-drivers only registers the driver in oned.conf; uninstall restores it byte for byte', async () => {
    const before = snapshotTree(root);
    expect(await cli('install', '--role', 'frontend', '--root', root, '--no-drivers')).toBe(0);
    const text = readFileSync(join(root, 'etc/one/oned.conf'), 'utf8');
    expect(text).toContain('ARGUMENTS = "-t 15 -d dummy,fs_lvm,gfs2clvm"');
    expect(text).toContain('ARGUMENTS = "-t 15 -d dummy,fs,gfs2clvm -s shared,fs_lvm,gfs2clvm"');
    expect(text).toContain('TM_MAD_CONF = [\n    NAME = "gfs2clvm"');
    expect(text).toContain('DS_MAD_CONF = [\n    NAME = "gfs2clvm"');
    expect(modeOf(join(root, 'etc/one/oned.conf'))).toBe('640');
    expect(readFileSync(join(root, 'etc/one/vmm_exec/vmm_execrc'), 'utf8')).toBe(
      vmmExecrc.replace('qemu-qcow2"', 'qemu-qcow2 kvm-gfs2clvm qemu-gfs2clvm"'),
    );
    expect(out).toContain('edited /etc/one/vmm_exec/vmm_execrc: LIVE_DISK_SNAPSHOTS');
    expect(out).toContain(
      'note: oned.conf changed; restart OpenNebula (systemctl restart opennebula) to load the driver',
    );
    expect(await cli('install', '--role', 'frontend', '--root', root, '--no-drivers')).toBe(0);
    expect(out.at(-1)).toBe('changed 0 file(s)');
    expect(await cli('uninstall', '--role', 'frontend', '--root', root)).toBe(0);
    expect(snapshotTree(root)).toEqual(before);
  });

  it('no vmm_execrc: the install says live snapshots stay refused and goes on', async () => {
    rmSync(join(root, 'etc/one/vmm_exec/vmm_execrc'));
    expect(await cli('install', '--role', 'frontend', '--root', root, '--no-drivers')).toBe(0);
    expect(out).toContain(
      'WARN skipped /etc/one/vmm_exec/vmm_execrc: not found (live disk snapshots (snap_create_live) stay refused by oned)',
    );
    // OpenNebula's VMM files installed later: a second install adds the pairs and says to restart.
    writeFileSync(join(root, 'etc/one/vmm_exec/vmm_execrc'), vmmExecrc);
    expect(await cli('install', '--role', 'frontend', '--root', root, '--no-drivers')).toBe(0);
    expect(out.slice(-3)).toEqual([
      'edited /etc/one/vmm_exec/vmm_execrc: LIVE_DISK_SNAPSHOTS',
      'note: vmm_execrc changed; restart OpenNebula (systemctl restart opennebula) to allow live disk snapshots',
      'changed 1 file(s)',
    ]);
  });

  it('copies the built actions (shims executable), the driver config, and uninstalls them again', async () => {
    const built = builtRemotes();
    const before = snapshotTree(root);
    const mode = (p: string) => modeOf(join(root, p));
    try {
      expect(await cli('install', '--role', 'frontend', '--root', root, '--drivers-from', built)).toBe(0);
      expect(mode('var/lib/one/remotes/tm/gfs2clvm/clone')).toBe('755');
      expect(mode('var/lib/one/remotes/tm/gfs2clvm/gfs2clvm-tm.mjs')).toBe('644');
      expect(readFileSync(join(root, 'var/lib/one/remotes/datastore/gfs2clvm/cp'), 'utf8')).toBe(
        '#!/bin/sh\nexit 0\n',
      );
      expect(readFileSync(join(root, 'var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf'), 'utf8')).toBe(
        '# ZERO_ON_DELETE=yes\n',
      );
      expect(await cli('uninstall', '--root', root)).toBe(0);
      expect(snapshotTree(root)).toEqual(before);
    } finally {
      removeDir(built);
    }
  });

  it('doctor --role frontend --root says what is missing, then OK once installed', async () => {
    // This machine has no oneadmin account: the Node.js check runs as root.
    const node = `OK   Node.js: ${process.version} for root (the drivers need >= 20.19.0)`;
    expect(await cli('doctor', '--role', 'frontend', '--root', root, '--user', 'root')).toBe(1);
    expect(out).toEqual([
      node,
      'FAIL oned.conf: gfs2clvm missing from TM_MAD -d, DATASTORE_MAD -d, DATASTORE_MAD -s, TM_MAD_CONF, DS_MAD_CONF — run: one-gfs2clvm install --role frontend, then restart opennebula',
      'WARN live snapshots: kvm-gfs2clvm, qemu-gfs2clvm missing from LIVE_DISK_SNAPSHOTS in /etc/one/vmm_exec/vmm_execrc — run: one-gfs2clvm install --role frontend, then restart opennebula',
      'FAIL driver scripts: /var/lib/one/remotes/tm/gfs2clvm is empty or missing — run: one-gfs2clvm install --role frontend',
      'FAIL driver scripts: /var/lib/one/remotes/datastore/gfs2clvm is empty or missing — run: one-gfs2clvm install --role frontend',
      'WARN driver config: /var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf is missing (built-in defaults apply) — run: one-gfs2clvm install --role frontend',
    ]);
    expect(err).toEqual(['one-gfs2clvm: doctor: 3 check(s) failed']);
    const built = builtRemotes();
    try {
      await cli('install', '--role', 'frontend', '--root', root, '--drivers-from', built);
      expect(await cli('doctor', '--role', 'frontend', '--root', root, '--user', 'root')).toBe(0);
      expect(out).toEqual([
        node,
        'OK   oned.conf: gfs2clvm is registered (TM_MAD, DATASTORE_MAD, TM_MAD_CONF, DS_MAD_CONF)',
        'OK   live snapshots: kvm-gfs2clvm, qemu-gfs2clvm in LIVE_DISK_SNAPSHOTS (/etc/one/vmm_exec/vmm_execrc)',
        'OK   driver scripts: 2 actions in /var/lib/one/remotes/tm/gfs2clvm',
        'OK   driver scripts: 1 actions in /var/lib/one/remotes/datastore/gfs2clvm',
        'OK   driver config: /var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf',
      ]);
    } finally {
      removeDir(built);
    }
  });

  it('keeps a driver config the admin already has', async () => {
    const built = builtRemotes();
    mkdirSync(join(root, 'var/lib/one/remotes/etc/tm/gfs2clvm'), { recursive: true });
    writeFileSync(join(root, 'var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf'), 'ZERO_ON_DELETE=no\n');
    try {
      expect(await cli('install', '--role', 'frontend', '--root', root, '--drivers-from', built)).toBe(0);
      expect(out).toContain('kept existing /var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf');
      expect(readFileSync(join(root, 'var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf'), 'utf8')).toBe(
        'ZERO_ON_DELETE=no\n',
      );
    } finally {
      removeDir(built);
    }
  });
});
