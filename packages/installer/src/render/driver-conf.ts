/**
 * The driver configuration on the front-end, shell `KEY=value` like fs_lvm.conf. Every value can be
 * overridden per datastore by a template attribute of the same name (design.md §7). Installed
 * once: an admin's later edits are kept by reinstall and uninstall.
 */
export function renderDriverConf(): string {
  return [
    '# gfs2clvm driver defaults; a datastore template attribute of the same name overrides each.',
    '# Installed by `one-gfs2clvm install --role frontend`; your edits are kept.',
    '',
    '# Zero LVs when they are created / before they are removed (blkdiscard --zeroout, else dd).',
    'ZERO_ON_CREATE=yes',
    'ZERO_ON_DELETE=yes',
    '',
    '# Locking: auto (detect per VG), lvmlockd, clvmd or none.',
    'LOCK_MODE=auto',
    '',
    '# The host helper the drivers run through sudo (laid down by `install --role host`).',
    'HELPER=/usr/local/sbin/one-gfs2clvm-helper',
    '',
    '# Where the GFS2 file system with the system datastore is mounted on every host.',
    'DATASTORE_LOCATION=/var/lib/one/datastores',
    '',
  ].join('\n');
}
