import { defineConfig } from 'vitest/config';

// One run covers every package: each package (and tool) has its own vitest.config.ts
// built from `vitest.shared.ts`, so the per-package settings live next to the code; `scripts` holds
// the repository-wide checks.
export default defineConfig({
  test: {
    // Under load (two emulated hosts on two cores) the last worker → reporter updates were seen to
    // time out ("Timeout calling onTaskUpdate") with every test passed; give teardown more time.
    teardownTimeout: 60_000,
    projects: ['packages/*/vitest.config.ts', 'tools/*/vitest.config.ts', 'scripts/vitest.config.ts'],
  },
});
