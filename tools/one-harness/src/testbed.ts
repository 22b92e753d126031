// The one test environment for the emulated cluster (tools/testbed): the front-end laid out as oned
// has it, used by both drivers' testbed suites, tools/demo and the benchmarks. See README.

export { imageActionData } from './testbed/action-data.js';
export {
  DL,
  type FrontEnd,
  type FrontEndOptions,
  IMG_DS,
  IMG_DS_TEMPLATE,
  MiB,
  SYS_DS,
  setUpFrontEnd,
  VG,
  vmXml,
} from './testbed/front-end.js';
export { cleanUp, type LvState, lvState, lvStates, sh, sumOf, zeroSum } from './testbed/host-checks.js';
export { ensureDatastoreDirs, ensureHostRole } from './testbed/host-role.js';
export { builtRemotes, type DriverPackage } from './testbed/workspace.js';
