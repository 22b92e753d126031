import { packageProject } from '../../vitest.shared.js';

// `*.testbed.test.ts` run real LVM on the qemu cluster of tools/testbed, booted once per test run
// by its global setup (shared with every other project that lists it). `TESTBED_SKIP=1` leaves
// them out for a fast unit-only run.
const skip = process.env.TESTBED_SKIP === '1';

export default packageProject(import.meta.dirname, {
  test: skip
    ? { exclude: ['**/node_modules/**', '**/*.testbed.test.ts'] }
    : {
        globalSetup: ['../../tools/testbed/src/vitest-setup.ts'],
        testTimeout: 300_000,
        hookTimeout: 600_000,
      },
});
