import { testbedProject } from '../../vitest.shared.js';

// `*.testbed.test.ts` drive the built DS action scripts against the qemu cluster of tools/testbed
// (see `testbedProject`); image imports under emulation need the longer limits.
export default testbedProject(import.meta.dirname, { testTimeout: 600_000, hookTimeout: 900_000 });
