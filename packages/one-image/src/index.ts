export {
  type ActionName,
  DS_ACTIONS,
  isActionName,
  SUPPORTED_ACTIONS,
  type SupportedAction,
  UNSUPPORTED_ACTIONS,
} from './actions-list.js';
export { DsError, type DsErrorCode } from './errors.js';
