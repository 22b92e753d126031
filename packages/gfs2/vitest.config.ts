import { packageProject } from '../../vitest.shared.js';

// Unit tests and real local tools only. The real-GFS2 tests (`*.testbed.test.ts`) need the qemu
// testbed and its global setup; they join this project once the testbed package provides it.
export default packageProject(import.meta.dirname, {
  test: { exclude: ['**/node_modules/**', '**/*.testbed.test.ts'] },
});
