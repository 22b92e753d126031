// What both gfs2clvm drivers run on (README "API"): the action protocol (run-driver-action,
// last-resort, args), DriverError, the configuration, the oned client, hosts, front-end locks,
// logging and the LV data path. A module whose every export is the package's is re-exported whole.
export { actionNames } from './action-names.js';
export * from './alloc-map.js';
export {
  asInvalidArgument,
  expectArgs,
  MAX_SIZE_MIB,
  parseHost,
  parseIdArg,
  parseImageSource,
  parseSizeMiB,
} from './args.js';
export {
  configFromValues,
  DEFAULT_CONFIG_PATH,
  DEFAULTS,
  type DriverConfig,
  loadConfig,
  parseConfigText,
  type StorageSettings,
  storageFor,
} from './config.js';
export type { ActionContext } from './context.js';
export { driverMain } from './driver-main.js';
export { DriverError, type DriverErrorCode, type DriverErrorDetails } from './errors.js';
export { frontEndLock, type HeldLock, holdFlock } from './fe-lock.js';
export * from './guest-freeze.js';
export { DATA_PATH, type Host, HostPool, isFrontEnd, pickWorkHost } from './hosts.js';
export * from './image-lease.js';
export { installLastResort, lastResortLines, systemErrorReason } from './last-resort.js';
export { Log, redactSecrets, singleLine } from './log.js';
export {
  activateForVm,
  type CopyOptions,
  copyArgv,
  copyLv,
  copyLvRanges,
  destroyVmLv,
  hostCommandFailed,
  hostTag,
  mkfsArgv,
  RANGE_COPY_SCRIPT,
  rangeCopyArgv,
  releaseFromHost,
  removeEmptyVmDir,
  rollback,
  WRITE_ZEROES_SCRIPT,
  wipe,
  writesZeroesFast,
} from './lv-ops.js';
export {
  type DatagramOptions,
  DEFAULT_MONITORD_CONF,
  type DiskSize,
  MAX_DATAGRAM_BYTES,
  type MonitordTarget,
  monitorDatagram,
  monitorDatagrams,
  parseMonitordConf,
  readMonitordConf,
  sendDatagrams,
  vmMonitorEntry,
} from './monitord.js';
export {
  encryptMonitorPayload,
  MAX_PUBKEY_BYTES,
  monitordPublicKey,
  readMonitordPubkey,
} from './monitord-key.js';
export { CliOneClient } from './one-cli.js';
export {
  type DatastoreInfo,
  type HostInfo,
  type ImageInfo,
  LCM,
  type OneClient,
  type OneImageClient,
  type Ownership,
  parseDatastoreXml,
  parseHostPoolXml,
  parseMonitorPayload,
  parseUserXml,
  parseVmXml,
  USABLE_HOST_STATES,
  type UserInfo,
  type VmDisk,
  type VmInfo,
} from './one-client.js';
// oned's XML: parser, accessors, permission flags (also read by the DS driver's payload).
export {
  asNode,
  intOf,
  listOf,
  type PermissionFlags,
  parseCheckedXml,
  permissionFlags,
  type Rights,
  show,
  simpleValues,
  textOf,
  type XmlFail,
  type XmlNode,
} from './one-xml.js';
export {
  type DriverContext,
  type DriverSpec,
  MAX_PAYLOAD_BYTES,
  MAX_STDIN_BYTES,
  type RunActionOptions,
  readStdinCapped,
  runDriverAction,
} from './run-driver-action.js';
export { MAX_USER_LINE, userLine } from './user-line.js';
