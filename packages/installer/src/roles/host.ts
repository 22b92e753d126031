import { readHelperScript } from '../assets.js';
import { setQemuKeys } from '../edit/qemu-conf.js';
import type { Item, RunContext } from '../engine.js';
import { DEFAULTS, HOST_PATHS, REACTIVATE_UNIT_NAME } from '../layout.js';
import { MOUNTS_FILE, mountAt } from '../mounts.js';
import { renderHelperConf } from '../render/helper-conf.js';
import {
  type PolkitFlavour,
  polkitFlavourFromVersion,
  renderPolkitPkla,
  renderPolkitRules,
} from '../render/polkit.js';
import { renderSudoers } from '../render/sudoers.js';
import { renderReactivateUnit } from '../render/systemd.js';
import { renderUdevRule } from '../render/udev.js';
import type { Ownership, Target, Validation } from '../target.js';
import { javascriptValidation, shellSyntaxValidation, visudoValidation } from '../validators.js';

export interface HostOptions {
  user: string;
  group: string;
  vgPattern: string;
  lvPatterns: string[];
  /** `auto`: from `pkaction --version`, or under `--root` from the directories present. */
  polkit: PolkitFlavour | 'none' | 'auto';
  /** Where GFS2 is mounted; its owner and mode are set when it is a GFS2 mount. */
  datastoreLocation: string;
}

export const DEFAULT_HOST_OPTIONS: HostOptions = {
  user: DEFAULTS.user,
  group: DEFAULTS.group,
  vgPattern: DEFAULTS.vgPattern,
  lvPatterns: [...DEFAULTS.lvPatterns],
  polkit: 'auto',
  datastoreLocation: DEFAULTS.datastoreLocation,
};

/**
 * The owner and mode the GFS2 root needs: `user:group` owns it with rwx (the drivers create the
 * system datastore dirs and `.gfs2clvm-import` there as that user), nobody else may write there
 * (a planted symlink could steer a driver); every other bit stays as the admin set it. Pure.
 */
export function datastoresRootOwnership(current: Ownership, user: string, group: string): Ownership {
  return { user, group, mode: (current.mode | 0o700) & ~0o002 };
}

async function detectPolkit(target: Target): Promise<PolkitFlavour | 'none'> {
  if (target.root === '/') {
    try {
      const result = await target.exec(['pkaction', '--version']);
      if (result.exitCode === 0) return polkitFlavourFromVersion(result.stdout) ?? 'none';
    } catch {
      // no polkit on this host
    }
  }
  if ((await target.mode('/etc/polkit-1/rules.d')) !== null) return 'rules';
  if ((await target.mode('/etc/polkit-1/localauthority')) !== null) return 'pkla';
  return 'none';
}

/** Everything `install --role host` lays down, in order (the helper before the sudo rule naming it). */
export async function hostItems(options: HostOptions, context: RunContext): Promise<Item[]> {
  return [
    ...(await helperItems(options)),
    ...(await polkitItems(options, context)),
    qemuConfItem(options),
    {
      kind: 'file',
      role: 'host',
      path: HOST_PATHS.reactivateUnit,
      content: renderReactivateUnit(HOST_PATHS.helper),
      mode: 0o644,
    },
    ...(await datastoresOwnerItems(options, context)),
  ];
}

/** The LVM helper, its configuration, the sudo rule that names it and the udev rule for its LVs. */
async function helperItems(options: HostOptions): Promise<Item[]> {
  return [
    {
      kind: 'file',
      role: 'host',
      path: HOST_PATHS.helper,
      content: await readHelperScript(),
      mode: 0o755,
      validation: shellSyntaxValidation,
    },
    {
      kind: 'file',
      role: 'host',
      path: HOST_PATHS.helperConf,
      content: renderHelperConf([options.vgPattern], options.lvPatterns),
      mode: 0o644,
    },
    {
      kind: 'file',
      role: 'host',
      path: HOST_PATHS.sudoers,
      content: renderSudoers(options.user, HOST_PATHS.helper),
      mode: 0o440,
      validation: visudoValidation,
    },
    {
      kind: 'file',
      role: 'host',
      path: HOST_PATHS.udevRule,
      content: renderUdevRule({
        user: options.user,
        group: options.group,
        vgPattern: options.vgPattern,
        lvPatterns: options.lvPatterns,
      }),
      mode: 0o644,
    },
  ];
}

/** The libvirt rule for the OpenNebula user, in the format this host's polkit reads (none without). */
async function polkitItems(options: HostOptions, context: RunContext): Promise<Item[]> {
  const polkit = options.polkit === 'auto' ? await detectPolkit(context.target) : options.polkit;
  if (polkit === 'rules')
    return [polkitFile(HOST_PATHS.polkitRules, renderPolkitRules(options.user), javascriptValidation)];
  if (polkit === 'pkla') return [polkitFile(HOST_PATHS.polkitPkla, renderPolkitPkla(options.user))];
  context.print('note: no polkit found; skipping the libvirt rule for oneadmin');
  return [];
}

/** The polkit file for the libvirt rule, in either format (the `.rules` one is checked as JavaScript). */
function polkitFile(path: string, content: string, validation?: Validation): Item {
  return { kind: 'file', role: 'host', path, content, mode: 0o644, ...(validation ? { validation } : {}) };
}

function qemuConfItem(options: HostOptions): Item {
  return {
    kind: 'edit',
    role: 'host',
    path: HOST_PATHS.qemuConf,
    missing: 'install libvirt first (apt-get install libvirt-daemon-system), then run again',
    edit: (text) =>
      setQemuKeys(
        text,
        { user: options.user, group: options.group, dynamic_ownership: 0 },
        HOST_PATHS.qemuConf,
      ),
  };
}

/** The datastores' owner, only on a GFS2 mount: an unmounted mount point is a directory of the root disk. */
async function datastoresOwnerItems(options: HostOptions, context: RunContext): Promise<Item[]> {
  const location = options.datastoreLocation;
  const mount = mountAt((await context.target.read(MOUNTS_FILE)) ?? '', location);
  if (mount?.fstype === 'gfs2') {
    return [
      {
        kind: 'owner',
        role: 'host',
        path: location,
        want: (current) => datastoresRootOwnership(current, options.user, options.group),
      },
    ];
  }
  context.print(
    `note: ${location} is ${mount ? `${mount.fstype}, not GFS2` : 'not mounted'}; its owner is left alone (mount GFS2 there, then run again)`,
  );
  return [];
}

/** Commands that make the changed files take effect (udev rules reloaded and re-applied, the unit enabled). */
export function hostCommandsAfterInstall(
  changed: readonly string[],
  options: HostOptions,
  systemdRunning: boolean,
): string[][] {
  const commands = commandsAfterChange(changed, options, systemdRunning);
  if (changed.includes(HOST_PATHS.reactivateUnit))
    commands.push(['systemctl', 'enable', REACTIVATE_UNIT_NAME]);
  return commands;
}

export function hostCommandsBeforeUninstall(installedPaths: readonly string[]): string[][] {
  return installedPaths.includes(HOST_PATHS.reactivateUnit)
    ? [['systemctl', 'disable', REACTIVATE_UNIT_NAME]]
    : [];
}

export function hostCommandsAfterUninstall(
  changed: readonly string[],
  options: HostOptions,
  systemdRunning: boolean,
): string[][] {
  const commands = commandsAfterChange(changed, options, systemdRunning);
  if (changed.includes(HOST_PATHS.helper)) commands.push(['rm', '-rf', '--', HOST_PATHS.helperRunDir]);
  return commands;
}

/** What both an install and an uninstall run after changing files: udev re-applied, systemd reloaded. */
function commandsAfterChange(
  changed: readonly string[],
  options: HostOptions,
  systemdRunning: boolean,
): string[][] {
  const commands: string[][] = [];
  if (changed.includes(HOST_PATHS.udevRule)) commands.push(...udevReapply(options));
  if (changed.includes(HOST_PATHS.reactivateUnit) && systemdRunning)
    commands.push(['systemctl', 'daemon-reload']);
  return commands;
}

/** Reloading rules does not touch existing devices: re-trigger only the driver's VGs' block devices. */
function udevReapply(options: HostOptions): string[][] {
  return [
    ['udevadm', 'control', '--reload'],
    [
      'udevadm',
      'trigger',
      '--action=change',
      '--subsystem-match=block',
      `--property-match=DM_VG_NAME=${options.vgPattern}`,
    ],
    ['udevadm', 'settle', '--timeout=60'],
  ];
}

export const QEMU_CONF_NOTE =
  'note: qemu.conf changed; restart libvirtd (systemctl restart libvirtd) for new VMs to run as oneadmin';
