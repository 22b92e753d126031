// What the testbed suites of one-tm take from one-harness to drive the cluster (set-up, shell,
// LV state, checksums, VM templates), in one place so that each suite imports it in one line;
// the cluster's ids and paths are in cluster.ts.
export * from '@one-gfs2clvm/one-harness/testbed';
