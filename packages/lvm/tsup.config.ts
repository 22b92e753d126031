import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.js';

// @one-gfs2clvm/errors is not published: its code goes into dist/ (a copy per library; its
// Symbol.for markers make the copies recognise each other's errors).
export default defineConfig(libraryBuild(['src/index.ts', 'src/testing.ts'], ['@one-gfs2clvm/errors']));
