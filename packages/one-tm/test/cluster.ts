// Where things are on the testbed cluster, as the testbed suites name them (from one-harness): the
// datastores' directory as oned writes it in the action lines (DL, with the double slash), the
// datastores and the shared VG of tools/testbed.
export { DL, IMG_DS, MiB, SYS_DS, VG } from '@one-gfs2clvm/one-harness/testbed';
