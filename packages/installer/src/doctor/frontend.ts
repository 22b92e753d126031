import pLimit from 'p-limit';
import { registrationStatus } from '../edit/oned-conf.js';
import { LIVE_SNAPSHOT_PAIRS, liveSnapshotPairs } from '../edit/vmm-execrc.js';
import { FRONTEND_PATHS } from '../layout.js';
import type { Target } from '../target.js';
import { type CheckResult, fail, ok, warn } from './check.js';
import { checkLockMode } from './lock-mode.js';
import { checkNodeVersion } from './node.js';
import { checkSsh, DEFAULT_SSH_SETTINGS, driverSshSettings } from './ssh.js';

export interface FrontendDoctorOptions {
  /** The front-end (this machine, possibly under a root). */
  target: Target;
  user: string;
  /** Hosts to reach over SSH as `user` (OpenNebula's host names). */
  hosts: string[];
}

export async function checkOnedConf(
  target: Target,
  path: string = FRONTEND_PATHS.onedConf,
): Promise<CheckResult> {
  const text = await target.read(path);
  if (text === null) {
    return fail(
      'oned.conf',
      `${path} is missing`,
      'run doctor --role frontend on the machine that runs oned',
    );
  }
  const status = registrationStatus(text);
  const missing = Object.entries({
    'TM_MAD -d': status.tmMad,
    'DATASTORE_MAD -d': status.datastoreMadD,
    'DATASTORE_MAD -s': status.datastoreMadS,
    TM_MAD_CONF: status.tmMadConf,
    DS_MAD_CONF: status.dsMadConf,
  })
    .filter(([, present]) => !present)
    .map(([what]) => what);
  return missing.length === 0
    ? ok('oned.conf', 'gfs2clvm is registered (TM_MAD, DATASTORE_MAD, TM_MAD_CONF, DS_MAD_CONF)')
    : fail(
        'oned.conf',
        `gfs2clvm missing from ${missing.join(', ')}`,
        'run: one-gfs2clvm install --role frontend, then restart opennebula',
      );
}

/** Whether oned lets the driver take live disk snapshots (`LIVE_DISK_SNAPSHOTS` in vmm_execrc). */
export async function checkLiveSnapshots(
  target: Target,
  path: string = FRONTEND_PATHS.vmmExecrc,
): Promise<CheckResult> {
  const text = await target.read(path);
  const fix = 'run: one-gfs2clvm install --role frontend, then restart opennebula';
  if (text === null) return warn('live snapshots', `${path} is missing: live disk snapshots refused`, fix);
  let pairs: string[];
  try {
    pairs = liveSnapshotPairs(text, path);
  } catch (error) {
    return warn('live snapshots', (error as Error).message, 'write LIVE_DISK_SNAPSHOTS="…" on one line');
  }
  const missing = LIVE_SNAPSHOT_PAIRS.filter((p) => !pairs.includes(p));
  return missing.length === 0
    ? ok('live snapshots', `${LIVE_SNAPSHOT_PAIRS.join(', ')} in LIVE_DISK_SNAPSHOTS (${path})`)
    : warn('live snapshots', `${missing.join(', ')} missing from LIVE_DISK_SNAPSHOTS in ${path}`, fix);
}

export async function checkDriverScripts(target: Target): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const dir of [FRONTEND_PATHS.tmDir, FRONTEND_PATHS.dsDir]) {
    const entries = (await target.list(dir)) ?? [];
    results.push(
      entries.length > 0
        ? ok('driver scripts', `${entries.length} actions in ${dir}`)
        : fail('driver scripts', `${dir} is empty or missing`, 'run: one-gfs2clvm install --role frontend'),
    );
  }
  results.push(
    (await target.mode(FRONTEND_PATHS.driverConf)) !== null
      ? ok('driver config', FRONTEND_PATHS.driverConf)
      : warn(
          'driver config',
          `${FRONTEND_PATHS.driverConf} is missing (built-in defaults apply)`,
          'run: one-gfs2clvm install --role frontend',
        ),
  );
  return results;
}

export async function frontendDoctor(options: FrontendDoctorOptions): Promise<CheckResult[]> {
  const { target } = options;
  const results = [
    await checkNodeVersion(target.exec, options.user),
    await checkOnedConf(target),
    await checkLiveSnapshots(target),
    ...(await checkDriverScripts(target)),
  ];
  if (options.hosts.length === 0) return results;
  // The hosts are reached with the driver's own SSH settings (its installed configuration).
  let settings = DEFAULT_SSH_SETTINGS;
  const configText = await target.read(FRONTEND_PATHS.driverConf);
  try {
    if (configText !== null) settings = driverSshSettings(configText);
  } catch (error) {
    results.push(
      fail(
        'driver config',
        `${FRONTEND_PATHS.driverConf}: ${(error as Error).message}`,
        'fix that line; the driver refuses to run with it',
      ),
    );
    return results;
  }
  // Ten hosts at a time (one line each, in the order given): dead hosts cost one timeout, not one each.
  const limit = pLimit(10);
  const ssh = await Promise.all(
    options.hosts.map((host) => limit(() => checkSsh(target.exec, options.user, host, settings))),
  );
  results.push(...ssh);
  // LOCK_MODE against the VGs, as the first reachable host sees them (every host sees the same VGs).
  const reachable = options.hosts.find((_, i) => ssh[i]?.status === 'OK');
  if (reachable)
    results.push(...(await checkLockMode(target.exec, options.user, reachable, settings, configText)));
  return results;
}
