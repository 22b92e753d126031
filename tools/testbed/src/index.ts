export { type BlockMode, Cluster, DATASTORES, TestbedHost, type TestbedUser } from './cluster.js';
export { GFS2_LV, PLAIN_VG, SHARED_VG } from './cluster-setup.js';
export { TestbedError, type TestbedErrorCode } from './errors.js';
export {
  attach,
  down,
  type HostStatus,
  restartHost,
  status,
  type TestbedStatus,
  up,
} from './lifecycle.js';
export type { Accel, Gfs2Mode, LockType, UpOptions } from './options.js';
export { stateDir } from './paths.js';
export { type SshConfigHost, type SshConfigOptions, sshConfigText, writeSshConfig } from './ssh-config.js';
