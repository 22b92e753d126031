// Where things are on the testbed cluster, as the testbed suites name them: the datastores and the
// shared VG of tools/testbed (from one-harness) and the datastores' directory as oned writes it in
// the action lines (with the double slash).
export { IMG_DS, MiB, SYS_DS, VG } from '@one-gfs2clvm/one-harness/testbed';

export const DL = '/var/lib/one//datastores';
