import { packageProject } from '../../vitest.shared.js';

// Unit and pack tests only. The real-LVM tests (`*.testbed.test.ts`) need the qemu testbed and
// its global setup; they join this project once the testbed package provides it.
export default packageProject(import.meta.dirname, {
  test: { exclude: ['**/node_modules/**', '**/*.testbed.test.ts'] },
});
