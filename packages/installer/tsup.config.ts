import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // The workspace libraries are not published on their own yet: bundle their code; their
  // dependencies (ssh2, ssh-config, execa, p-limit) are this package's dependencies.
  noExternal: ['@one-gfs2clvm/ssh-remote', '@one-gfs2clvm/lvm'],
});
