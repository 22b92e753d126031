import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/vitest-setup.ts', 'src/cli.ts'],
  format: ['esm'],
  dts: { entry: ['src/index.ts', 'src/vitest-setup.ts'] },
  clean: true,
  sourcemap: true,
  target: 'node20',
});
