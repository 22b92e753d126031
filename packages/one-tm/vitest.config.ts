import { testbedProject } from '../../vitest.shared.js';

// `*.testbed.test.ts` drive the built action scripts against the qemu cluster of tools/testbed
// (see `testbedProject`); a whole VM life cycle under emulation needs the longer limits.
export default testbedProject(import.meta.dirname, { testTimeout: 600_000, hookTimeout: 900_000 });
