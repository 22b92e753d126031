import { defineProject } from 'vitest/config';

// The repository's own checks (scripts/*.mjs, the workspace's manifests and READMEs): a project of
// the root `vitest run` beside the packages', unit lane only: in `npm test`'s testbed lanes
// (scripts/test.mjs) only the parallel one runs them.
const lane = process.env.TESTBED_LANE;

export default defineProject({
  test: {
    name: 'scripts',
    root: import.meta.dirname,
    include: lane === 'serial' || lane === 'own' ? [] : ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
