export {
  builtRemotes,
  type FrontEnd,
  IMG_DS,
  imageActionData,
  SYS_DS,
  setUpFrontEnd,
} from '@one-gfs2clvm/one-harness/testbed';
export { DemoError } from './errors.js';
export { checksum, formatLvs, type LvView, mergeHostLvs, readLinks, readLvs } from './host-state.js';
export {
  DEMO_IDS,
  type Leftovers,
  type LifeCycleIds,
  leftoverNames,
  narrateLifeCycle,
  removeLeftovers,
} from './life-cycle.js';
export { narrateLocking } from './locking.js';
export { createNarrator, expectExit, hostStep, type Narrator } from './narrator.js';
