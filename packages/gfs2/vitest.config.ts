import { join } from 'node:path';
import { packageProject } from '../../vitest.shared.js';

// `*.testbed.test.ts` run on the qemu cluster of tools/testbed, booted by its global setup (once per
// test run, shared with the other projects that list it; `TESTBED_REUSE=1` uses a running one).
// `TESTBED_SKIP=1` leaves them out for a fast run of the unit and local-tool tests.
const skip = process.env.TESTBED_SKIP === '1';
const testbedSetup = join(import.meta.dirname, '../../tools/testbed/src/vitest-setup.ts');

export default packageProject(import.meta.dirname, {
  test: skip
    ? { exclude: ['**/node_modules/**', '**/*.testbed.test.ts'] }
    : { globalSetup: [testbedSetup], testTimeout: 300_000, hookTimeout: 600_000 },
});
