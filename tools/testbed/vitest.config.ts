import { testbedProject } from '../../vitest.shared.js';

// `*.testbed.test.ts` run on the qemu cluster of tools/testbed (see `testbedProject`).
export default testbedProject(import.meta.dirname);
