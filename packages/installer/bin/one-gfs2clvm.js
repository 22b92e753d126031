#!/usr/bin/env node
// The published entry point: the CLI lives in the built dist (changesets-style shim).
import { installLastResort, main } from '../dist/cli.js';

// Anything unexpected: ERROR lines and one plain line, exit 1 (never a bare stack trace).
installLastResort();

// `one-gfs2clvm install --dry-run | head` must not die of EPIPE.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
