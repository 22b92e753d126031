import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dryRunText, localCli, modeOf, reinstallChangesNothing, removeDir, scratchDir } from './local-cli.js';
import { snapshotTree } from './tree.js';

/**
 * `install --role frontend` with the real driver builds (@one-gfs2clvm/one-tm and
 * @one-gfs2clvm/one-image, as the workspace links them) and an oned.conf in the shapes of the
 * shipped one (test/fixtures/oned.conf.6.10).
 */
const packages = join(import.meta.dirname, '..', '..');
const BUILT = {
  tm: join(packages, 'one-tm', 'dist', 'remotes', 'tm', 'gfs2clvm'),
  ds: join(packages, 'one-image', 'dist', 'remotes', 'datastore', 'gfs2clvm'),
  conf: join(packages, 'one-tm', 'dist', 'remotes', 'etc', 'tm', 'gfs2clvm', 'gfs2clvm.conf'),
};
const INSTALLED = {
  tm: 'var/lib/one/remotes/tm/gfs2clvm',
  ds: 'var/lib/one/remotes/datastore/gfs2clvm',
  conf: 'var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf',
};
const onedFixture = readFileSync(join(import.meta.dirname, 'fixtures', 'oned.conf.6.10'), 'utf8');

let root: string;

const { cli, out, err } = localCli();

const mode = (path: string) => modeOf(path);
const onedConf = () => readFileSync(join(root, 'etc/one/oned.conf'), 'utf8');

beforeAll(() => {
  for (const dir of [BUILT.tm, BUILT.ds])
    expect(existsSync(dir), `build the drivers first (pnpm run build): no ${dir}`).toBe(true);
});

beforeEach(() => {
  root = scratchDir('fe');
  mkdirSync(join(root, 'etc/one'), { recursive: true });
  writeFileSync(join(root, 'etc/one/oned.conf'), onedFixture, { mode: 0o640 });
});
afterEach(() => removeDir(root));

describe('install --role frontend with the built drivers', () => {
  it('copies every built TM and DS file unchanged (shims 0755, bundles 0644) and the driver config', async () => {
    expect(await cli('install', '--role', 'frontend', '--root', root)).toBe(0);
    for (const kind of ['tm', 'ds'] as const) {
      const names = readdirSync(BUILT[kind]).sort();
      expect(names.length).toBeGreaterThan(5);
      expect(readdirSync(join(root, INSTALLED[kind])).sort()).toEqual(names);
      for (const name of names) {
        const installed = join(root, INSTALLED[kind], name);
        // Buffer.equals, not toEqual: a deep compare of ~2.8 MB byte by byte took over 30 s under load.
        expect(readFileSync(installed).equals(readFileSync(join(BUILT[kind], name))), name).toBe(true);
        expect(mode(installed), name).toBe(name.endsWith('.mjs') ? '644' : '755');
      }
    }
    expect(readFileSync(join(root, INSTALLED.conf))).toEqual(readFileSync(BUILT.conf));
    expect(mode(join(root, 'etc/one/oned.conf'))).toBe('640');
    const total = readdirSync(BUILT.tm).length + readdirSync(BUILT.ds).length + 2;
    expect(out.at(-1)).toBe(`changed ${total} file(s)`);
  });

  it('edits only the two ARGUMENTS lines of oned.conf and adds the two conf blocks', async () => {
    expect(await cli('install', '--role', 'frontend', '--root', root, '--no-drivers')).toBe(0);
    const after = onedConf();
    const tmConf =
      '\nTM_MAD_CONF = [\n    NAME = "gfs2clvm",\n    LN_TARGET = "SYSTEM",\n    CLONE_TARGET = "SYSTEM",\n    SHARED = "YES",\n    DRIVER = "raw",\n    DISK_TYPE = "BLOCK",\n    DS_MIGRATE = "YES",\n    DS_LIVE_MIGRATE = "NO",\n    DS_MIGRATE_SNAP = "NO"\n]\n';
    const dsConf =
      '\nDS_MAD_CONF = [\n    NAME = "gfs2clvm",\n    REQUIRED_ATTRS = "",\n    PERSISTENT_ONLY = "NO"\n]\n';
    // After the last TM_MAD_CONF (closed on its last attribute's line), before the commented-out one.
    expect(after).toContain(`    ds_migrate = "YES" ]\n${tmConf}\n#TM_MAD_CONF = [`);
    expect(after).toContain(`    PERSISTENT_ONLY = "NO"\n]\n${dsConf}\n#****`);
    const withoutBlocks = after.replace(tmConf, '').replace(dsConf, '');
    const [a, b] = [onedFixture.split('\n'), withoutBlocks.split('\n')];
    expect(b).toHaveLength(a.length);
    const changed = a.flatMap((line, i) => (line === b[i] ? [] : [[line, b[i]]]));
    expect(changed).toEqual([
      [
        '    ARGUMENTS = "-t 15 -d dummy,lvm,shared,fs_lvm,fs_lvm_ssh,qcow2,ssh,ceph,dev,vcenter,iscsi_libvirt"',
        '    ARGUMENTS = "-t 15 -d dummy,lvm,shared,fs_lvm,fs_lvm_ssh,qcow2,ssh,ceph,dev,vcenter,iscsi_libvirt,gfs2clvm"',
      ],
      [
        '    ARGUMENTS  = "-t 15 -d dummy,fs,lvm,ceph,dev,iscsi_libvirt,vcenter,restic,rsync -s shared,ssh,ceph,fs_lvm,fs_lvm_ssh,qcow2,vcenter"',
        '    ARGUMENTS  = "-t 15 -d dummy,fs,lvm,ceph,dev,iscsi_libvirt,vcenter,restic,rsync,gfs2clvm -s shared,ssh,ceph,fs_lvm,fs_lvm_ssh,qcow2,vcenter,gfs2clvm"',
      ],
    ]);
    expect(out).toContain(
      'edited /etc/one/oned.conf: TM_MAD -d, DATASTORE_MAD -d -s, TM_MAD_CONF gfs2clvm, DS_MAD_CONF gfs2clvm',
    );
  });

  it('changes nothing the second time', async () => {
    expect(await cli('install', '--role', 'frontend', '--root', root)).toBe(0);
    await reinstallChangesNothing(cli, out, root, 'frontend');
    expect(out).toContain('unchanged /etc/one/oned.conf');
  });

  it('--dry-run prints the unified diffs and changes nothing', async () => {
    const text = await dryRunText(cli, out, root, 'frontend');
    expect(text).toMatch(/--- a\/etc\/one\/oned.conf\n\+\+\+ b\/etc\/one\/oned.conf\n@@ -108,7 \+108,7 @@\n/);
    expect(text).toContain(
      '\n-    ARGUMENTS = "-t 15 -d dummy,lvm,shared,fs_lvm,fs_lvm_ssh,qcow2,ssh,ceph,dev,vcenter,iscsi_libvirt"\n+    ARGUMENTS = "-t 15 -d dummy,lvm,shared,fs_lvm,fs_lvm_ssh,qcow2,ssh,ceph,dev,vcenter,iscsi_libvirt,gfs2clvm"\n',
    );
    expect(text).toContain('\n+TM_MAD_CONF = [\n+    NAME = "gfs2clvm",\n');
    expect(text).toContain('+++ b/var/lib/one/remotes/tm/gfs2clvm/clone\n');
    expect(text).toContain('+++ b/var/lib/one/remotes/datastore/gfs2clvm/cp\n');
    const total = readdirSync(BUILT.tm).length + readdirSync(BUILT.ds).length + 2;
    expect(out.at(-1)).toBe(`dry run: would change ${total} file(s)`);
  });

  it('uninstall restores the root byte for byte (oned.conf, directories, no manifest left)', async () => {
    const before = snapshotTree(root);
    expect(await cli('install', '--role', 'frontend', '--root', root)).toBe(0);
    expect(await cli('uninstall', '--role', 'frontend', '--root', root, '--dry-run')).toBe(0);
    expect(out.join('\n')).toContain('\n+    ARGUMENTS = "-t 15 -d dummy,lvm,shared');
    expect(snapshotTree(root)).not.toEqual(before);
    expect(await cli('uninstall', '--role', 'frontend', '--root', root)).toBe(0);
    expect(snapshotTree(root)).toEqual(before);
    expect(onedConf()).toBe(onedFixture);
  });

  it('never removes or overwrites an action file the admin changed, nor an oned.conf line they changed', async () => {
    expect(await cli('install', '--role', 'frontend', '--root', root)).toBe(0);
    const clone = join(root, INSTALLED.tm, 'clone');
    writeFileSync(clone, '#!/bin/sh\n# patched by the admin\n');
    chmodSync(clone, 0o755);
    // The admin registers another driver on the TM_MAD line, and adds a setting of their own.
    const edited = onedConf()
      .replace(',iscsi_libvirt,gfs2clvm"', ',iscsi_libvirt,gfs2clvm,mydriver"')
      .replace('PORT = 2633\n', 'PORT = 2633\nLISTEN_PORT_EXTRA = 1\n');
    writeFileSync(join(root, 'etc/one/oned.conf'), edited);

    expect(await cli('install', '--role', 'frontend', '--root', root)).toBe(0);
    expect(out).toContain(
      'WARN kept /var/lib/one/remotes/tm/gfs2clvm/clone: changed since it was installed (remove it and run again to replace it)',
    );
    expect(out).toContain('unchanged /etc/one/oned.conf');
    expect(readFileSync(clone, 'utf8')).toBe('#!/bin/sh\n# patched by the admin\n');

    expect(await cli('uninstall', '--role', 'frontend', '--root', root)).toBe(0);
    expect(out).toContain('WARN kept /var/lib/one/remotes/tm/gfs2clvm/clone: changed since it was installed');
    expect(out).toContain('WARN kept /etc/one/oned.conf TM_MAD -d: changed since it was installed');
    expect(readFileSync(clone, 'utf8')).toBe('#!/bin/sh\n# patched by the admin\n');
    expect(readdirSync(join(root, INSTALLED.tm))).toEqual(['clone']);
    expect(existsSync(join(root, INSTALLED.ds))).toBe(false);
    // Everything else of the registration is undone; the admin's lines stay.
    expect(onedConf()).toBe(
      onedFixture
        .replace(',iscsi_libvirt"', ',iscsi_libvirt,gfs2clvm,mydriver"')
        .replace('PORT = 2633\n', 'PORT = 2633\nLISTEN_PORT_EXTRA = 1\n'),
    );
  });

  it('refuses an oned.conf it cannot edit safely with one line, and changes nothing', async () => {
    writeFileSync(join(root, 'etc/one/oned.conf'), `${onedFixture}\nTM_MAD = [ EXECUTABLE = "one_tm" ]\n`);
    const before = snapshotTree(root);
    expect(await cli('install', '--role', 'frontend', '--root', root)).toBe(1);
    expect(err).toEqual(['one-gfs2clvm: /etc/one/oned.conf: TM_MAD is defined twice; keep one']);
    expect(snapshotTree(root)).toEqual(before);
    rmSync(join(root, 'etc/one/oned.conf'));
    expect(await cli('install', '--role', 'frontend', '--root', root)).toBe(1);
    expect(err).toEqual([
      'one-gfs2clvm: /etc/one/oned.conf not found: is OpenNebula installed on this machine? (the front-end role runs where oned runs)',
    ]);
    expect(readdirSync(root)).toEqual(['etc']);
  });

  it('a reinstall from a newer build removes what that build dropped, not what the admin changed, nor with --no-drivers', async () => {
    const tree = scratchDir('remotes');
    try {
      cpSync(BUILT.tm, join(tree, 'tm/gfs2clvm'), { recursive: true });
      cpSync(BUILT.ds, join(tree, 'datastore/gfs2clvm'), { recursive: true });
      expect(await cli('install', '--role', 'frontend', '--root', root, '--drivers-from', tree)).toBe(0);
      expect(await cli('install', '--role', 'frontend', '--root', root, '--no-drivers')).toBe(0);
      expect(out.at(-1)).toBe('changed 0 file(s)');
      // The newer build: no `mvds`, no `stat`; the admin patched `clone` meanwhile.
      rmSync(join(tree, 'tm/gfs2clvm/mvds'));
      rmSync(join(tree, 'datastore/gfs2clvm/stat'));
      rmSync(join(tree, 'tm/gfs2clvm/clone'));
      writeFileSync(join(root, INSTALLED.tm, 'clone'), '#!/bin/sh\n# patched by the admin\n');
      expect(
        await cli('install', '--role', 'frontend', '--root', root, '--drivers-from', tree, '--dry-run'),
      ).toBe(0);
      expect(out.join('\n')).toContain('--- a/var/lib/one/remotes/tm/gfs2clvm/mvds\n');
      expect(out.at(-1)).toBe('dry run: would change 2 file(s), kept 1 changed by the admin');
      expect(existsSync(join(root, INSTALLED.tm, 'mvds'))).toBe(true);
      expect(await cli('install', '--role', 'frontend', '--root', root, '--drivers-from', tree)).toBe(0);
      expect(out).toContain('removed /var/lib/one/remotes/tm/gfs2clvm/mvds');
      expect(out).toContain('removed /var/lib/one/remotes/datastore/gfs2clvm/stat');
      expect(out).toContain(
        'WARN kept /var/lib/one/remotes/tm/gfs2clvm/clone: changed since it was installed',
      );
      expect(out.at(-1)).toBe('changed 2 file(s), kept 1 changed by the admin');
      expect(readdirSync(join(root, INSTALLED.tm)).sort()).toEqual(
        [...readdirSync(join(tree, 'tm/gfs2clvm')), 'clone'].sort(),
      );
      expect(readdirSync(join(root, INSTALLED.ds)).sort()).toEqual(
        readdirSync(join(tree, 'datastore/gfs2clvm')).sort(),
      );
      // The patched file is the admin's now: uninstall leaves it, and only it.
      expect(await cli('uninstall', '--role', 'frontend', '--root', root)).toBe(0);
      expect(readdirSync(join(root, INSTALLED.tm))).toEqual(['clone']);
      expect(onedConf()).toBe(onedFixture);
    } finally {
      removeDir(tree);
    }
  });

  it('takes the files from --drivers-from instead when given', async () => {
    const tree = scratchDir('remotes');
    try {
      cpSync(BUILT.tm, join(tree, 'tm/gfs2clvm'), { recursive: true });
      cpSync(BUILT.ds, join(tree, 'datastore/gfs2clvm'), { recursive: true });
      writeFileSync(join(tree, 'datastore/gfs2clvm/stat'), '#!/bin/sh\necho 7\n', { mode: 0o755 });
      expect(await cli('install', '--role', 'frontend', '--root', root, '--drivers-from', tree)).toBe(0);
      expect(readFileSync(join(root, INSTALLED.ds, 'stat'), 'utf8')).toBe('#!/bin/sh\necho 7\n');
      // No config in that tree: none installed (the driver's built-in defaults apply).
      expect(existsSync(join(root, INSTALLED.conf))).toBe(false);
    } finally {
      removeDir(tree);
    }
  });
});
