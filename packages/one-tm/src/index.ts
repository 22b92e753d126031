export {
  type ActionName,
  isActionName,
  SUPPORTED_ACTIONS,
  type SupportedAction,
  TM_ACTIONS,
  UNSUPPORTED_ACTIONS,
} from './actions-list.js';
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
export { type RunActionOptions, runAction, userLine } from './dispatch.js';
export { TmError, type TmErrorCode } from './errors.js';
export { CliOneClient } from './one-cli.js';
export {
  type DatastoreInfo,
  type HostInfo,
  LCM,
  type OneClient,
  parseDatastoreXml,
  parseHostPoolXml,
  parseMonitorPayload,
  parseVmXml,
  type VmDisk,
  type VmInfo,
} from './one-client.js';
