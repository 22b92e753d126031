// The public API: what the drivers (one-tm, one-image) and their tests use, each documented in
// README.md. Everything else is internal; this package's own tests import it from its module.
export { type BatchStep, batchScript, emulateBatch } from './batch.js';
export { Gfs2Error } from './errors.js';
export { assertOnGfs2 } from './gfs2-check.js';
export type { ImageProbe } from './image-info.js';
export {
  type DiskLocation,
  isUnder,
  normalizeAbsolutePath,
  parseId,
  parseTmArgument,
  parseVmDirPath,
  type VmDirLocation,
  type VmLocation,
  validateHostName,
} from './paths.js';
export { placeFile } from './place.js';
export { probeImage } from './probe-image.js';
export {
  checkPathAllowed,
  DEFAULT_RESTRICTED_DIRS,
  decideRestriction,
  parseDirList,
} from './restricted-dirs.js';
export {
  type DiskEntry,
  ENSURE_VM_DIR_AND_LINK_STEPS,
  ENSURE_VM_DIR_STEPS,
  ensureDatastoreDir,
  ensureVmDir,
  ensureVmDirAndLink,
  LINK_DISK_STEPS,
  linkDisk,
  readDiskLink,
  removeDiskLink,
  removeVmDir,
} from './vm-dir.js';
