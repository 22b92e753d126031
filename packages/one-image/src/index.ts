export {
  type ActionName,
  DS_ACTIONS,
  isActionName,
  SUPPORTED_ACTIONS,
  type SupportedAction,
  UNSUPPORTED_ACTIONS,
} from './actions-list.js';
export type { DsContext, DsRequest } from './context.js';
export { type RunActionOptions, runAction, userLine } from './dispatch.js';
export { DsError, type DsErrorCode } from './errors.js';
// The import's qemu-img command line, for bench/import.mjs's hand-made side.
export { convertArgv } from './file-import.js';
