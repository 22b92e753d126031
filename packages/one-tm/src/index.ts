export { mkfsArgv } from './actions/mkimage.js';
export {
  type ActionName,
  isActionName,
  SUPPORTED_ACTIONS,
  type SupportedAction,
  TM_ACTIONS,
  UNSUPPORTED_ACTIONS,
} from './actions-list.js';
// Allocation maps of image LVs: made by the DS driver's import, used by clone.
export {
  type AllocationMap,
  type MapExtent,
  mapFromExtents,
  mapFromTags,
  mappedBytes,
  mappedRanges,
  mapTag,
  parseQemuImgMap,
  WRITTEN_TAG,
} from './alloc-map.js';
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
export { runAction, userLine } from './dispatch.js';
export { TmError, type TmErrorCode } from './errors.js';
// Front-end leases sharing an LV's activation among the actions that read it on a host (fe-lock,
// image-lease); shared with the DS driver (@one-gfs2clvm/one-image) like hosts, logging, LV data path.
export { type HeldLock, holdFlock } from './fe-lock.js';
export { type Host, HostPool, isFrontEnd, pickWorkHost } from './hosts.js';
export {
  acquireLease,
  leaseFile,
  releaseLease,
  releaseVmImage,
  underLease,
  withLease,
} from './image-lease.js';
export { installLastResort, lastResortLines, systemErrorReason } from './last-resort.js';
export { Log, redactSecrets, singleLine } from './log.js';
export {
  copyArgv,
  copyLv,
  destroyVmLv,
  hostCommandFailed,
  RANGE_COPY_SCRIPT,
  rangeCopyArgv,
  rollback,
  wipe,
} from './lv-ops.js';
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
// The dispatcher skeleton, shared with the DS driver.
export {
  type DriverContext,
  type DriverSpec,
  MAX_PAYLOAD_BYTES,
  MAX_STDIN_BYTES,
  type RunActionOptions,
  readStdinCapped,
  runDriverAction,
} from './run-driver-action.js';
