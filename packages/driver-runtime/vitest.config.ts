import { packageProject } from '../../vitest.shared.js';

// Unit tests only: the runtime runs on the cluster through the drivers' testbed suites.
export default packageProject(import.meta.dirname);
