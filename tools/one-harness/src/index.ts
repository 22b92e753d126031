export { type ActionResult, DriverBase, type DriverOptions, ProtocolOutput } from './driver.js';
export { DS_ACTIONS, type DsAction, DsDriver, type DsOptions, isDsAction } from './ds.js';
export { type DsActionDataInput, type DsType, dsActionData, readDsType } from './ds-payload.js';
export { HarnessError, type HarnessErrorCode } from './errors.js';
export { type CommandRecord, type CommandSpec, commandLogs, runCommand } from './executor.js';
export {
  createFakeOned,
  type DatastoreXmlInput,
  datastoreXml,
  type FakeOned,
  hostPoolXml,
  type ImageXmlInput,
  imageXml,
  type VmDisk,
  type VmXmlInput,
  vmXml,
} from './fake-oned.js';
export {
  decryptMonitorPayload,
  type FakeOnemonitord,
  type FakeOnemonitordOptions,
  type MonitorMessage,
  parseMonitorMessage,
  parseMonitorVmPayload,
  parseVmDiskMonitor,
  startFakeOnemonitord,
  type VmDiskMonitor,
} from './fake-onemonitord.js';
export { type ServeOptions, serveLines } from './line-protocol.js';
export { formatMessage, logMessages, protocolLines, type Result, type Severity } from './messages.js';
export { type ActionContext, ActionQueue } from './queue.js';
export { base64, shellwordsEscape } from './ruby.js';
export { type Execution, type ExecutionInfo, type InfoRules, infoFromExecution } from './stderr.js';
export { type TmCommandResult, TmDriver, type TmOptions, type TransferResult } from './tm.js';
export { parseTransferFile, writeTransferFile } from './transfer-file.js';
