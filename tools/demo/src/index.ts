export { DemoError } from './errors.js';
export { builtRemotes, type FrontEnd, IMG_DS, SYS_DS, setUpFrontEnd } from './front-end.js';
export { checksum, formatLvs, type LvView, readLinks, readLvs } from './host-state.js';
export {
  DEMO_IDS,
  type LifeCycleIds,
  leftoverNames,
  narrateLifeCycle,
  removeLeftovers,
} from './life-cycle.js';
export { narrateLocking } from './locking.js';
export { createNarrator, expectExit, hostStep, type Narrator } from './narrator.js';
