#!/usr/bin/env node
// The published entry point: the CLI lives in the built dist (changesets-style shim).
import { main } from '../dist/cli.js';

// `one-gfs2clvm install --dry-run | head` must not die of EPIPE.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
