import { dirname } from 'node:path';
import { parseLvmJson } from '@one-gfs2clvm/lvm';
import { readHelperScript } from '../assets.js';
import { readQemuKeys } from '../edit/qemu-conf.js';
import type { Exec } from '../exec.js';
import { DEFAULTS, HOST_PATHS, REACTIVATE_UNIT_NAME } from '../layout.js';
import { MOUNTS_FILE, mountAt } from '../mounts.js';
import type { Target } from '../target.js';
import { type CheckResult, fail, ok, skip, warn } from './check.js';
import { lvCapacity } from './metadata.js';

export interface HostDoctorOptions {
  target: Target;
  user: string;
  vgPattern: string;
  datastoreLocation: string;
  /** Create and remove a small LV in this VG through the helper to see the udev rule work. */
  testLvVg?: string;
  expectedLvs?: number;
}

interface VgReport {
  vg_name: string;
  vg_lock_type: string;
  vg_mda_size: string;
  lv_count: string;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

async function run(exec: Exec, argv: readonly string[]) {
  try {
    return await exec(argv);
  } catch (error) {
    return { exitCode: 127, stdout: '', stderr: (error as Error).message };
  }
}

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';

export async function checkHelper(exec: Exec, user: string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const name = 'helper';
  for (let path: string = HOST_PATHS.helper; path !== '/'; path = dirname(path)) {
    const info = await run(exec, ['stat', '-c', '%u %a', '--', path]);
    if (info.exitCode !== 0) {
      results.push(fail(name, `${path} is missing`, 'run: one-gfs2clvm install --role host'));
      return results;
    }
    const [uid, mode] = info.stdout.trim().split(' ');
    if (uid !== '0' || (Number.parseInt(mode ?? '0', 8) & 0o022) !== 0) {
      results.push(
        fail(
          name,
          `${path} is writable by someone other than root`,
          `chown root:root ${path}; chmod go-w ${path}`,
        ),
      );
      return results;
    }
  }
  results.push(ok(name, `${HOST_PATHS.helper} is root-owned and not writable by others`));
  const allowed = await run(exec, ['sudo', '-n', '-l', '-U', user, HOST_PATHS.helper, 'report', 'pvs']);
  results.push(
    allowed.exitCode === 0
      ? ok('sudo', `${user} may run the helper as root without a password`)
      : fail(
          'sudo',
          `${user} may not run the helper through sudo`,
          `check ${HOST_PATHS.sudoers} (visudo -c) and that /etc/sudoers reads /etc/sudoers.d`,
        ),
  );
  const lvm = await run(exec, ['sudo', '-n', '-l', '-U', user, '/usr/sbin/lvcreate']);
  results.push(
    lvm.exitCode === 0
      ? fail(
          'sudo',
          `${user} may run lvcreate as root: that is root-equivalent`,
          'remove the old sudoers rule granting LVM commands (the 2012 driver had one)',
        )
      : ok('sudo', `${user} may not run LVM commands directly`),
  );
  return results;
}

export async function checkLocking(
  exec: Exec,
  vgPattern: string,
  expectedLvs?: number,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const report = await run(exec, [
    'lvm',
    'vgs',
    '--reportformat',
    'json',
    '--units',
    'b',
    '--nosuffix',
    '-o',
    'vg_name,vg_lock_type,vg_mda_size,lv_count',
  ]);
  if (report.exitCode !== 0) {
    results.push(
      fail('LVM', `vgs failed: ${firstLine(report.stderr)}`, 'is lvm2 installed and the SAN LUN visible?'),
    );
    return results;
  }
  const pattern = globToRegExp(vgPattern);
  // LVM 2.03.16 may end the `log` section with a comma: the library's parser repairs that.
  const parsed = parseLvmJson(report.stdout) as { report: { vg: VgReport[] }[] };
  const vgs = (parsed.report[0]?.vg ?? []).filter((vg) => pattern.test(vg.vg_name));
  if (vgs.length === 0) {
    results.push(
      warn(
        'VGs',
        `no VG matching ${vgPattern} is visible`,
        'create one: one-gfs2clvm vg-create <vg> <device> --expected-lvs <n>',
      ),
    );
    return results;
  }
  const shared = vgs.filter(isLvmlockdVg);
  const lockInfo = shared.length > 0 ? await checkLockManager(exec, results) : '';
  for (const vg of vgs) {
    results.push(checkVgLock(vg, lockInfo), checkVgMetadata(vg, expectedLvs));
  }
  return results;
}

const isLvmlockdVg = (vg: VgReport) => vg.vg_lock_type === 'sanlock' || vg.vg_lock_type === 'dlm';

/** Pushes whether lvmlockd runs; returns its `lvmlockctl --info` (empty when it does not run). */
async function checkLockManager(exec: Exec, results: CheckResult[]): Promise<string> {
  const info = await run(exec, ['lvmlockctl', '--info']);
  if (info.exitCode !== 0) {
    results.push(
      fail(
        'lock manager',
        `lvmlockd is not running (${firstLine(info.stderr)})`,
        'start sanlock (or dlm) and lvmlockd: systemctl start sanlock lvmlockd',
      ),
    );
    return '';
  }
  results.push(ok('lock manager', 'lvmlockd is running'));
  return info.stdout;
}

/** A shared VG's lockspace must be started (per `lvmlockctl --info`); other VGs are noted. */
function checkVgLock(vg: VgReport, lockInfo: string): CheckResult {
  const name = `VG ${vg.vg_name}`;
  if (!isLvmlockdVg(vg)) {
    return ok(
      name,
      `lock type ${vg.vg_lock_type || 'none'}: metadata changes are serialised by the front-end only (design.md §3)`,
    );
  }
  const started = lockInfo.split('\n').some((line) => {
    const [word, vgName] = line.trim().split(/\s+/);
    return word === 'VG' && vgName === vg.vg_name;
  });
  return started
    ? ok(name, `${vg.vg_lock_type} lockspace started`)
    : fail(name, `${vg.vg_lock_type} lockspace not started`, `run: vgchange --lockstart ${vg.vg_name}`);
}

/** Warns when the VG's metadata area is nearly full, or holds fewer LVs than expected. */
function checkVgMetadata(vg: VgReport, expectedLvs: number | undefined): CheckResult {
  const name = `VG ${vg.vg_name}`;
  const capacity = lvCapacity(Number(vg.vg_mda_size));
  const count = Number(vg.lv_count);
  const detail = `${count} LVs, metadata area ${Math.round(Number(vg.vg_mda_size) / 1024)} KiB holds about ${capacity}`;
  if (count >= capacity * 0.8) {
    return warn(
      `${name} metadata`,
      detail,
      'create a VG with a larger --metadatasize for new disks (one-gfs2clvm vg-create)',
    );
  }
  if (expectedLvs !== undefined && capacity < expectedLvs) {
    return warn(
      `${name} metadata`,
      `${detail}, fewer than the ${expectedLvs} expected`,
      'plan a second VG or one with a larger --metadatasize',
    );
  }
  return ok(`${name} metadata`, detail);
}

/**
 * The installed helper must be the one this installer carries: the drivers ship with it and use its
 * newest verbs (e.g. `activate … <tag>`), which an older helper refuses (exit 64).
 */
export async function checkHelperVersion(
  target: Target,
  path: string = HOST_PATHS.helper,
): Promise<CheckResult> {
  const installed = await target.read(path);
  if (installed === null)
    return fail('helper version', `${path} is missing`, 'run: one-gfs2clvm install --role host');
  return installed === (await readHelperScript())
    ? ok('helper version', `${path} is the helper of this release`)
    : fail(
        'helper version',
        `${path} differs from the helper of this release (an older one refuses verbs the drivers use)`,
        'run: one-gfs2clvm install --role host',
      );
}

export async function checkGfs2(
  target: Target,
  datastoreLocation: string,
  mountsFile = MOUNTS_FILE,
): Promise<CheckResult> {
  const mount = mountAt((await target.read(mountsFile)) ?? '', datastoreLocation);
  if (!mount) {
    return fail(
      'GFS2',
      `nothing is mounted at ${datastoreLocation}`,
      `mount the GFS2 file system there (mount -t gfs2 <device> ${datastoreLocation})`,
    );
  }
  if (mount.fstype !== 'gfs2') {
    return fail(
      'GFS2',
      `${datastoreLocation} is ${mount.fstype}, not gfs2`,
      'mount the shared GFS2 file system there',
    );
  }
  return ok('GFS2', `${mount.device} mounted at ${datastoreLocation}`);
}

/**
 * What the drivers need of the GFS2 root: `user` owns it and may write there (the DS `cp` makes
 * `.gfs2clvm-import`, the TM the system datastore dirs), nobody else may write there. The probe
 * makes and removes a directory as `user` (through `sudo -n -u`), so ACLs and a read-only or
 * full file system show too.
 */
export async function checkDatastoresRoot(
  target: Target,
  user: string,
  datastoreLocation: string,
): Promise<CheckResult[]> {
  const name = 'datastores root';
  const fix = `run: one-gfs2clvm install --role host (it sets ${user}:${user} and u+rwx, o-w on the GFS2 root)`;
  const now = await target.owner(datastoreLocation);
  if (now === null) return [fail(name, `${datastoreLocation} is missing`, fix)];
  const shown = `${now.user}:${now.group} ${now.mode.toString(8).padStart(4, '0')}`;
  const results: CheckResult[] = [];
  if (now.user !== user || (now.mode & 0o700) !== 0o700)
    results.push(fail(name, `${datastoreLocation} is ${shown}: ${user} must own it with rwx`, fix));
  else if ((now.mode & 0o002) !== 0)
    results.push(fail(name, `${datastoreLocation} is ${shown}: writable by everyone`, fix));
  else results.push(ok(name, `${datastoreLocation} is ${shown}`));
  const probe = `${datastoreLocation}/.one-gfs2clvm-doctor-${process.pid}`;
  const made = await run(target.exec, ['sudo', '-n', '-u', user, 'mkdir', '--', probe]);
  if (made.exitCode !== 0) {
    results.push(fail(name, `${user} cannot write there: ${firstLine(made.stderr)}`, fix));
    return results;
  }
  await run(target.exec, ['rmdir', '--', probe]);
  results.push(ok(name, `${user} can create directories in ${datastoreLocation}`));
  return results;
}

export async function checkQemuConf(
  target: Target,
  user: string,
  path: string = HOST_PATHS.qemuConf,
): Promise<CheckResult> {
  const text = await target.read(path);
  if (text === null) {
    return fail('qemu.conf', `${path} is missing`, 'install libvirt (apt-get install libvirt-daemon-system)');
  }
  const values = readQemuKeys(text, ['user', 'group', 'dynamic_ownership'], path);
  const wrong = Object.entries({
    user: JSON.stringify(user),
    group: JSON.stringify(user),
    dynamic_ownership: '0',
  })
    .filter(([key, want]) => values[key] !== want)
    .map(([key, want]) => `${key} is ${values[key] ?? 'unset'}, wants ${want}`);
  return wrong.length === 0
    ? ok('qemu.conf', `user, group = ${user}, dynamic_ownership = 0`)
    : fail('qemu.conf', wrong.join('; '), 'run: one-gfs2clvm install --role host, then restart libvirtd');
}

/** Creates a small LV through the helper as the driver would, and looks at who owns its device. */
export async function checkUdevOnTestLv(exec: Exec, user: string, vg: string): Promise<CheckResult> {
  const name = 'udev rule';
  const lv = `lv-one-doctor-${process.pid}`;
  const helper = (...args: string[]) =>
    run(exec, ['sudo', '-n', '-u', user, 'sudo', '-n', HOST_PATHS.helper, ...args]);
  const created = await helper('create', vg, lv, String(8 * 1024 * 1024));
  if (created.exitCode !== 0) {
    return fail(
      name,
      `cannot create a test LV in ${vg} through the helper: ${firstLine(created.stderr)}`,
      'see the sudo and VG checks above',
    );
  }
  try {
    await run(exec, ['udevadm', 'settle', '--timeout=30']);
    const owner = await run(exec, ['stat', '-L', '-c', '%U:%G %a', `/dev/${vg}/${lv}`]);
    const [ids, mode] = owner.stdout.trim().split(' ');
    if (owner.exitCode !== 0)
      return fail(name, `test LV has no device node: ${firstLine(owner.stderr)}`, 'is udev running?');
    return ids === `${user}:${user}`
      ? ok(name, `a new LV is owned by ${ids} (mode ${mode})`)
      : fail(
          name,
          `a new LV is owned by ${ids}, not ${user}`,
          `check ${HOST_PATHS.udevRule} and journalctl -u systemd-udevd (systemd 258/259 ignore OWNER= of non-system users)`,
        );
  } finally {
    await helper('deactivate', vg, lv);
    await helper('remove', vg, lv);
  }
}

/** Looks at the device nodes of the driver's LVs that are active here. */
export async function checkUdevOnActiveLvs(
  target: Target,
  user: string,
  vgPattern: string,
): Promise<CheckResult> {
  const name = 'udev rule';
  const exec = target.exec;
  if ((await target.mode(HOST_PATHS.udevRule)) === null) {
    return fail(name, `${HOST_PATHS.udevRule} is missing`, 'run: one-gfs2clvm install --role host');
  }
  const report = await run(exec, [
    'lvm',
    'lvs',
    '--reportformat',
    'json',
    '-o',
    'vg_name,lv_name,lv_active',
    '-S',
    'lv_active=active',
  ]);
  if (report.exitCode !== 0) return skip(name, `lvs failed: ${firstLine(report.stderr)}`);
  const pattern = globToRegExp(vgPattern);
  const lvPatterns = DEFAULTS.lvPatterns.map(globToRegExp);
  const lvs = (
    (parseLvmJson(report.stdout) as { report: { lv: { vg_name: string; lv_name: string }[] }[] }).report[0]
      ?.lv ?? []
  ).filter((lv) => pattern.test(lv.vg_name) && lvPatterns.some((p) => p.test(lv.lv_name)));
  if (lvs.length === 0)
    return skip(name, 'no driver LV is active here; pass --test-lv <vg> to create one and look');
  const wrong: string[] = [];
  for (const lv of lvs) {
    const owner = await run(exec, ['stat', '-L', '-c', '%U', `/dev/${lv.vg_name}/${lv.lv_name}`]);
    if (owner.stdout.trim() !== user)
      wrong.push(`${lv.vg_name}/${lv.lv_name} (${owner.stdout.trim() || 'no node'})`);
  }
  return wrong.length === 0
    ? ok(name, `${lvs.length} active driver LV(s) owned by ${user}`)
    : fail(
        name,
        `not owned by ${user}: ${wrong.join(', ')}`,
        'run: udevadm trigger --action=change --subsystem-match=block; udevadm settle',
      );
}

export async function checkReactivateUnit(exec: Exec): Promise<CheckResult> {
  const result = await run(exec, ['systemctl', 'is-enabled', REACTIVATE_UNIT_NAME]);
  if (result.exitCode === 127) return skip('boot re-activation', 'systemctl not available');
  return result.stdout.trim() === 'enabled'
    ? ok('boot re-activation', `${REACTIVATE_UNIT_NAME} is enabled`)
    : warn(
        'boot re-activation',
        `${REACTIVATE_UNIT_NAME} is ${result.stdout.trim() || 'missing'}`,
        `run: systemctl enable ${REACTIVATE_UNIT_NAME}`,
      );
}

/** The GFS2 mount, then (only where it is GFS2: never a probe on the root disk) its root. */
async function checkGfs2AndRoot(target: Target, user: string, location: string): Promise<CheckResult[]> {
  const gfs2 = await checkGfs2(target, location);
  if (gfs2.status !== 'OK') return [gfs2, skip('datastores root', `not checked: ${location} is not GFS2`)];
  return [gfs2, ...(await checkDatastoresRoot(target, user, location))];
}

export async function hostDoctor(options: HostDoctorOptions): Promise<CheckResult[]> {
  const { target, user } = options;
  const exec = target.exec;
  return [
    ...(await checkHelper(exec, user)),
    await checkHelperVersion(target),
    ...(await checkLocking(exec, options.vgPattern, options.expectedLvs)),
    ...(await checkGfs2AndRoot(target, user, options.datastoreLocation)),
    await checkQemuConf(target, user),
    options.testLvVg
      ? await checkUdevOnTestLv(exec, user, options.testLvVg)
      : await checkUdevOnActiveLvs(target, user, options.vgPattern),
    await checkReactivateUnit(exec),
  ];
}
