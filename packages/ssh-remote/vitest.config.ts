import { packageProject } from '../../vitest.shared.js';

// The integration tests start a real sshd (key generation included) in their hooks; on a loaded
// machine that can take longer than vitest's 10 s hook default.
export default packageProject(import.meta.dirname, { test: { hookTimeout: 60_000 } });
