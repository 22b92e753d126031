import { defineProject } from 'vitest/config';

// The repository's own checks (scripts/*.mjs, the workspace's manifests and READMEs): a project of
// the root `vitest run` beside the packages', unit lane only.
export default defineProject({
  test: {
    name: 'scripts',
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
