export {
  buildHelperCommands,
  HELPER_PATH,
  HELPER_PREFIX,
  helperReactivateBootArgv,
  helperWipeArgv,
} from './argv-helper.js';
export { blkdiscardWipeArgv, buildLvmCommands, ddWipeArgv } from './argv-lvm.js';
export { decodeLvAttr, type LvAttr, type LvVolumeType, vgAttrSharing } from './attr.js';
export { type CommandFailure, classifyFailure, failureMessages, lockModeMismatch } from './classify.js';
export { DEFAULT_MAX_CONCURRENT, HostLimiter, sharedHostLimiter } from './concurrency.js';
export {
  LV_FIELDS,
  LV_VG_FIELDS,
  LVM_CONFIG,
  LVM_CONFIG_JSON_LOG,
  PV_FIELDS,
  REPORT_FORMATS,
  type ReportFormat,
  VG_FIELDS,
} from './config.js';
export { LvmError, type LvmErrorCode, type LvmErrorDetails } from './errors.js';
export { type LockMode, lockModeOfVg } from './lock-mode.js';
export { type CreateLvOptions, type LockStatus, Lvm, type LvmOptions, type MetadataLock } from './lvm.js';
export {
  activeTag,
  assertLvName,
  assertSizeBytes,
  assertTag,
  assertVgName,
  devicePath,
  dmName,
  dmPath,
  formatSource,
  imageLvName,
  isLvName,
  isVgName,
  type LvRef,
  type ParsedLvName,
  parseActiveTag,
  parseDmName,
  parseLvName,
  parseSource,
  vmDiskLvName,
} from './names.js';
export type { ActivationMode, Capabilities, Command, Operation } from './operations.js';
export {
  type LogEntry,
  type Lv,
  type ParsedOutput,
  type Pv,
  parseLvmJson,
  parseLvmOutput,
  parseLvsReport,
  parsePvsReport,
  parseVgsReport,
  type Vg,
} from './report.js';
export { backoffDelay, DEFAULT_LOCK_WAIT_MS, type RetryOptions, withRetry } from './retry.js';
export {
  assertWipeRange,
  DATA_TIMEOUT_MS,
  MAX_WIPE_BYTES,
  type WipeRange,
  type WipeResult,
} from './wipe.js';
