/** Glob for udev's `==` match: `|` separates alternatives, so patterns must not contain quotes. */
const GLOB_PATTERN = /^[A-Za-z0-9+_.*?-]+$/;

/**
 * The udev rule that gives the driver's LVs to `oneadmin`, so the data path (qemu-img, dd, qemu)
 * needs no root. OWNER, GROUP and MODE are separate lines: systemd 258 and 259 ignore a whole
 * line whose OWNER names a non-system user (OpenNebula's oneadmin usually is one, uid 9869), and
 * then GROUP and MODE still apply. No SECLABEL: the rule must not reset SELinux labels.
 */
export function renderUdevRule(options: {
  user: string;
  group: string;
  vgPattern: string;
  lvPatterns: readonly string[];
}): string {
  for (const pattern of [options.vgPattern, ...options.lvPatterns]) {
    if (!GLOB_PATTERN.test(pattern))
      throw new Error(`invalid name pattern for udev: ${JSON.stringify(pattern)}`);
  }
  const match = `ENV{DM_VG_NAME}=="${options.vgPattern}", ENV{DM_LV_NAME}=="${options.lvPatterns.join('|')}"`;
  return [
    '# one-gfs2clvm: LVs of the OpenNebula driver belong to oneadmin (unprivileged data path).',
    '# Installed by `one-gfs2clvm install --role host`, removed by `one-gfs2clvm uninstall`.',
    'SUBSYSTEM!="block", GOTO="one_gfs2clvm_end"',
    'KERNEL!="dm-[0-9]*", GOTO="one_gfs2clvm_end"',
    'ENV{DM_UDEV_DISABLE_OTHER_RULES_FLAG}=="1", GOTO="one_gfs2clvm_end"',
    `${match}, OWNER="${options.user}"`,
    `${match}, GROUP="${options.group}"`,
    `${match}, MODE="0660"`,
    'LABEL="one_gfs2clvm_end"',
    '',
  ].join('\n');
}
