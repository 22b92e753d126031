const USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
const PATH_PATTERN = /^\/[A-Za-z0-9/_.-]+$/;

/**
 * The sudoers fragment: `user` may run the helper (any verb: the helper validates them) as root
 * without a password, and nothing else. `env_reset` so the helper never sees the caller's
 * environment; `!requiretty` because the drivers reach the host over SSH without a terminal.
 */
export function renderSudoers(user: string, helperPath: string): string {
  if (!USER_PATTERN.test(user)) throw new Error(`invalid user name for sudoers: ${JSON.stringify(user)}`);
  if (!PATH_PATTERN.test(helperPath) || helperPath.includes('..')) {
    throw new Error(`invalid helper path for sudoers: ${JSON.stringify(helperPath)}`);
  }
  return [
    '# one-gfs2clvm: the OpenNebula driver may run its host helper as root, and nothing else.',
    '# Installed by `one-gfs2clvm install --role host`, removed by `one-gfs2clvm uninstall`.',
    `Defaults!${helperPath} env_reset, !requiretty`,
    `${user} ALL=(root) NOPASSWD: ${helperPath}`,
    '',
  ].join('\n');
}
