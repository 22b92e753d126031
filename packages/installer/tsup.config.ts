import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // The workspace SSH library is not published on its own: bundle its code; its dependencies
  // (ssh2, ssh-config, execa) are this package's dependencies.
  noExternal: ['@one-gfs2clvm/ssh-remote'],
});
