import { packageProject } from '../../vitest.shared.js';

// `*.testbed.test.ts` drive the built action scripts against the qemu cluster booted by the testbed's
// global setup (once per test run, shared with the other projects). `TESTBED_SKIP=1` leaves them out.
const skip = process.env.TESTBED_SKIP === '1';

export default packageProject(import.meta.dirname, {
  test: skip
    ? { exclude: ['**/node_modules/**', '**/*.testbed.test.ts'] }
    : {
        globalSetup: ['../../tools/testbed/src/vitest-setup.ts'],
        testTimeout: 600_000,
        hookTimeout: 900_000,
      },
});
