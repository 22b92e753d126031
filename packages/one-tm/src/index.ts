export {
  type ActionName,
  isActionName,
  SUPPORTED_ACTIONS,
  type SupportedAction,
  TM_ACTIONS,
  UNSUPPORTED_ACTIONS,
} from './actions-list.js';
export { runAction } from './dispatch.js';
