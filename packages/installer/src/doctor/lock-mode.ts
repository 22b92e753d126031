import type { Exec } from '../exec.js';
import { FRONTEND_PATHS } from '../layout.js';
import { type CheckResult, fail, ok, warn } from './check.js';
import { type DriverSshSettings, sshCheckArgv } from './ssh.js';

const HELPER = '/usr/local/sbin/one-gfs2clvm-helper';
const MODES = ['auto', 'lvmlockd', 'clvmd', 'none'] as const;

/**
 * `LOCK_MODE` of the TM driver's configuration text (driver-runtime's KEY=VALUE lines, `#` comment lines,
 * optional quotes; the last line wins as in driver-runtime's config.ts). Unset: `auto`, the default.
 */
export function configuredLockMode(text: string | null): string {
  let mode = 'auto';
  for (const raw of (text ?? '').split('\n')) {
    const match = /^LOCK_MODE\s*=(.*)$/.exec(raw.trim());
    if (match?.[1] === undefined) continue;
    const value = match[1].trim();
    mode =
      value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]
        ? value.slice(1, -1)
        : value;
  }
  return mode;
}

/**
 * A VG's lock mode from `vg_lock_type` and `vg_attr`, as the lvm library's `lockModeOfVg` and the
 * host helper's `expect` judge it: lvmlockd (shared, or a lock type other than none/clvm), clvmd
 * (clustered, or lock type clvm), else none.
 */
export function lockModeOfRow(lockType: string, attr: string): 'lvmlockd' | 'clvmd' | 'none' {
  const sharing = attr[5];
  if (sharing === 's' || (lockType !== '' && lockType !== 'none' && lockType !== 'clvm')) return 'lvmlockd';
  if (sharing === 'c' || lockType === 'clvm') return 'clvmd';
  return 'none';
}

/**
 * The driver configuration's `LOCK_MODE` against the lock mode of each driver VG as `host` sees it
 * (issue 18): the host helper's `report vgs` over SSH as the drivers run it (`localUser`, the
 * driver's SSH settings, `sudo -n` the helper). A configured mode that a VG does not have is a FAIL:
 * the drivers refuse every change of that VG (`LOCK_MODE_MISMATCH`: the helper checks the mode in
 * the same command), so VMs on it cannot start.
 */
export async function checkLockMode(
  exec: Exec,
  localUser: string,
  host: string,
  settings: DriverSshSettings,
  configText: string | null,
): Promise<CheckResult[]> {
  const configured = configuredLockMode(configText);
  const conf = FRONTEND_PATHS.driverConf;
  if (!(MODES as readonly string[]).includes(configured))
    return [
      fail(
        'lock mode',
        `LOCK_MODE=${configured} in ${conf} is not one of ${MODES.join(', ')}`,
        'set LOCK_MODE=auto (the default)',
      ),
    ];
  const ssh = sshCheckArgv(host, settings).slice(0, -1);
  const remote = [...ssh, 'sudo', '-n', HELPER, 'report', 'vgs'];
  const argv = process.getuid?.() === 0 ? ['sudo', '-n', '-u', localUser, '--', ...remote] : remote;
  const cannot = (why: string) => [
    warn(
      'lock mode',
      `LOCK_MODE=${configured}; the driver VGs could not be listed on ${host}: ${why}`,
      `run doctor on the hosts (one-gfs2clvm doctor --ssh ${host})`,
    ),
  ];
  let result: Awaited<ReturnType<Exec>>;
  try {
    result = await exec(argv, { timeoutMs: (settings.connectTimeoutSeconds + 60) * 1000 });
  } catch (error) {
    return cannot((error as Error).message.split('\n')[0] ?? '');
  }
  if (result.exitCode !== 0)
    return cannot(result.stderr.trim().split('\n').at(-1)?.trim() || `exit ${result.exitCode}`);
  let rows: { vg_name?: unknown; vg_attr?: unknown; vg_lock_type?: unknown }[];
  try {
    rows = JSON.parse(result.stdout).report?.[0]?.vg ?? [];
  } catch {
    return cannot('the helper printed no JSON report');
  }
  const vgs = rows.map((row) => {
    const lockType = String(row.vg_lock_type ?? '');
    return { name: String(row.vg_name), lockType, mode: lockModeOfRow(lockType, String(row.vg_attr ?? '')) };
  });
  if (vgs.length === 0)
    return [
      warn(
        'lock mode',
        `LOCK_MODE=${configured}; no driver VG on ${host}`,
        'create one: one-gfs2clvm vg-create <vg> <device> --expected-lvs N',
      ),
    ];
  const seen = (vg: (typeof vgs)[number]) =>
    `${vg.name} ${vg.mode}${vg.lockType && vg.lockType !== 'none' ? ` (${vg.lockType})` : ''}`;
  if (configured === 'auto')
    return [
      ok(
        'lock mode',
        `LOCK_MODE=auto: ${vgs.map(seen).join(', ')} as ${host} sees them; the host helper checks a VG's mode in the first LVM change of each action, with no command of its own`,
      ),
    ];
  return vgs.map((vg) =>
    vg.mode === configured
      ? ok(`lock mode ${vg.name}`, `LOCK_MODE=${configured}, and ${seen(vg)} as ${host} sees it`)
      : fail(
          `lock mode ${vg.name}`,
          `LOCK_MODE=${configured} in ${conf}, but the VG is ${seen(vg).slice(vg.name.length + 1)} as ${host} sees it: the drivers refuse every change of it (LOCK_MODE_MISMATCH)`,
          `set LOCK_MODE=auto (the host helper checks each VG's mode at no extra command) or LOCK_MODE=${vg.mode}`,
        ),
  );
}
