import { metadataSizeMiB } from './doctor/metadata.js';
import { InstallerError } from './errors.js';

export type LockType = 'sanlock' | 'dlm' | 'none';

export interface VgCreateOptions {
  vg: string;
  devices: string[];
  expectedLvs: number;
  lockType: LockType;
}

const NAME = /^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}$/;
const DEVICE = /^\/dev\/[A-Za-z0-9+_./:-]+$/;

/**
 * The `vgcreate` argv for a new cluster VG: shared (lvmlockd) unless `none`, with a metadata area
 * sized for the expected LV count (the default 1 MiB holds about 1,800), and autoactivation off,
 * so no host activates every LV of the LUN at boot. vgcreate makes the PVs itself: a separate
 * pvcreate first fails on a sanlock VG with "Global lock failed".
 */
export function vgCreateArgv(options: VgCreateOptions): string[] {
  if (!NAME.test(options.vg) || options.vg === '.' || options.vg === '..') {
    throw new InstallerError('USAGE', `invalid VG name: ${JSON.stringify(options.vg)}`);
  }
  if (options.devices.length === 0) throw new InstallerError('USAGE', 'vg-create needs at least one device');
  for (const device of options.devices) {
    if (!DEVICE.test(device) || device.split('/').includes('..')) {
      throw new InstallerError('USAGE', `invalid device: ${JSON.stringify(device)} (a /dev/… path expected)`);
    }
  }
  if (
    !Number.isSafeInteger(options.expectedLvs) ||
    options.expectedLvs < 1 ||
    options.expectedLvs > 1_000_000
  ) {
    throw new InstallerError('USAGE', 'expected LV count must be an integer from 1 to 1000000');
  }
  const lock = options.lockType === 'none' ? [] : ['--shared', '--lock-type', options.lockType];
  return [
    'vgcreate',
    ...lock,
    '--metadatasize',
    `${metadataSizeMiB(options.expectedLvs)}m`,
    '--setautoactivation',
    'n',
    '--',
    options.vg,
    ...options.devices,
  ];
}
