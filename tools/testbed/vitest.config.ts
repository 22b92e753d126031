import { packageProject } from '../../vitest.shared.js';

// `*.testbed.test.ts` run on the qemu cluster booted by this package's own global setup (once per
// test run, shared with every other project that lists it). `TESTBED_SKIP=1` leaves them out for a
// fast unit-only run.
const skip = process.env.TESTBED_SKIP === '1';

export default packageProject(import.meta.dirname, {
  test: skip
    ? { exclude: ['**/node_modules/**', '**/*.testbed.test.ts'] }
    : { globalSetup: ['./src/vitest-setup.ts'], testTimeout: 300_000, hookTimeout: 600_000 },
});
