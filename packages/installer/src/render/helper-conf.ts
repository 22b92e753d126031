const GLOB_PATTERN = /^[A-Za-z0-9+_.*?-]+$/;

/** The helper's allow-list: which VGs and LVs oneadmin may have it touch (read by the helper). */
export function renderHelperConf(vgPatterns: readonly string[], lvPatterns: readonly string[]): string {
  for (const pattern of [...vgPatterns, ...lvPatterns]) {
    if (!GLOB_PATTERN.test(pattern)) throw new Error(`invalid name pattern: ${JSON.stringify(pattern)}`);
  }
  return [
    '# one-gfs2clvm-helper: the VGs and LVs the helper may touch (shell globs, one per line).',
    '# Never list the VG of the host system or a pattern that matches the GFS2 LV.',
    ...vgPatterns.map((p) => `allow_vg ${p}`),
    ...lvPatterns.map((p) => `allow_lv ${p}`),
    '',
  ].join('\n');
}
