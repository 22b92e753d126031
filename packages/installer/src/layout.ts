/** Where everything goes on a host or front-end (inside `--root`, when given). */
export const HOST_PATHS = {
  helper: '/usr/local/sbin/one-gfs2clvm-helper',
  helperConf: '/etc/one-gfs2clvm/helper.conf',
  /** No dot in the name: sudo skips files in sudoers.d whose name contains one. */
  sudoers: '/etc/sudoers.d/one-gfs2clvm',
  /** After 11-dm-lvm.rules, which sets DM_VG_NAME and DM_LV_NAME. */
  udevRule: '/etc/udev/rules.d/90-one-gfs2clvm.rules',
  polkitRules: '/etc/polkit-1/rules.d/50-one-gfs2clvm.rules',
  polkitPkla: '/etc/polkit-1/localauthority/50-local.d/50-one-gfs2clvm.pkla',
  qemuConf: '/etc/libvirt/qemu.conf',
  reactivateUnit: '/etc/systemd/system/one-gfs2clvm-reactivate.service',
  /** What the helper keeps at run time (LVM's capabilities, on tmpfs): not installed, removed by uninstall. */
  helperRunDir: '/run/one-gfs2clvm',
} as const;

export const FRONTEND_PATHS = {
  onedConf: '/etc/one/oned.conf',
  /** The VMM driver's environment: `LIVE_DISK_SNAPSHOTS` (opennebula-backups.md §1.3, §2). */
  vmmExecrc: '/etc/one/vmm_exec/vmm_execrc',
  tmDir: '/var/lib/one/remotes/tm/gfs2clvm',
  dsDir: '/var/lib/one/remotes/datastore/gfs2clvm',
  /** Read by both drivers (@one-gfs2clvm/driver-runtime DEFAULT_CONFIG_PATH). */
  driverConf: '/var/lib/one/remotes/etc/tm/gfs2clvm/gfs2clvm.conf',
} as const;

/** What the installer remembers: every file it wrote (with hashes) and every key it edited. */
export const MANIFEST_PATH = '/var/lib/one-gfs2clvm/manifest.json';
/** Files that stood where the installer wrote its own, kept to be put back at uninstall. */
export const BACKUP_DIR = '/var/lib/one-gfs2clvm/backup';

export const REACTIVATE_UNIT_NAME = 'one-gfs2clvm-reactivate.service';

export const DEFAULTS = {
  user: 'oneadmin',
  group: 'oneadmin',
  vgPattern: 'vg-one-*',
  lvPatterns: ['lv-one-*', 'lv-oneimg-*'],
  datastoreLocation: '/var/lib/one/datastores',
} as const;
