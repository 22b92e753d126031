import { defineConfig } from 'vitest/config';

// One run covers every package: each package (and tool) has its own vitest.config.ts
// built from `vitest.shared.ts`, so the per-package settings live next to the code; `scripts` holds
// the repository-wide checks.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'tools/*/vitest.config.ts', 'scripts/vitest.config.ts'],
  },
});
