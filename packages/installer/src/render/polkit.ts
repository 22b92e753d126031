/** `.rules` (JavaScript) is read by polkit ≥ 0.106, `.pkla` by the local authority before it. */
export type PolkitFlavour = 'rules' | 'pkla';

/** oneadmin may manage libvirt (qemu runs as oneadmin; OpenNebula's VMM driver calls virsh). */
export function renderPolkitRules(user: string): string {
  return [
    '// one-gfs2clvm: oneadmin manages libvirt without being asked for a password.',
    '// Installed by `one-gfs2clvm install --role host`, removed by `one-gfs2clvm uninstall`.',
    'polkit.addRule(function (action, subject) {',
    `  if (action.id == "org.libvirt.unix.manage" && subject.user == ${JSON.stringify(user)}) {`,
    '    return polkit.Result.YES;',
    '  }',
    '});',
    '',
  ].join('\n');
}

export function renderPolkitPkla(user: string): string {
  return [
    '# one-gfs2clvm: oneadmin manages libvirt without being asked for a password.',
    '# Installed by `one-gfs2clvm install --role host`, removed by `one-gfs2clvm uninstall`.',
    '[one-gfs2clvm: oneadmin manages libvirt]',
    `Identity=unix-user:${user}`,
    'Action=org.libvirt.unix.manage',
    'ResultAny=yes',
    'ResultInactive=yes',
    'ResultActive=yes',
    '',
  ].join('\n');
}

/** `pkaction --version` prints e.g. `pkaction version 0.105` or `pkaction version 122`. */
export function polkitFlavourFromVersion(versionOutput: string): PolkitFlavour | undefined {
  const match = /version\s+(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2] ?? 0);
  return major > 0 || minor >= 106 ? 'rules' : 'pkla';
}
