import { packageProject } from '../../vitest.shared.js';

// Unit tests of the demo's parsers and formatting only: the demo itself runs on its own cluster
// (`npm run demo`), not in `npm test` (see README: no CI smoke test, and why).
export default packageProject(import.meta.dirname);
