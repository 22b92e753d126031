export {
  entryArgv,
  fileTypeArgv,
  findmntArgv,
  GFS2_SYSFS,
  getentPasswdArgv,
  gfs2SysfsArgv,
  mkdirArgv,
  type QemuImgInfoArgvOptions,
  qemuImgInfoArgv,
  realpathExistingArgv,
  realpathMissingOkArgv,
  removeFileArgv,
  removeTreeArgv,
  renameArgv,
  statFsTypeArgv,
  symlinkArgv,
} from './argv.js';
export { Gfs2Error, type Gfs2ErrorCode, type Gfs2ErrorOptions } from './errors.js';
export {
  assertOnGfs2,
  DEFAULT_CHECK_TIMEOUT_MS,
  detectWithdrawn,
  type Gfs2CheckOptions,
  type Gfs2Status,
  type WithdrawState,
} from './gfs2-check.js';
export {
  assertSafeImage,
  DEFAULT_IMAGE_FORMATS,
  type ImageProbe,
  type ImageSafetyOptions,
  parseQemuImgInfo,
  type QemuImgInfo,
} from './image-info.js';
export {
  findGfs2Sysfs,
  GFS2_STATFS_TYPE,
  type Gfs2SysfsEntry,
  type MountEntry,
  parseFindmnt,
  parseGfs2Sysfs,
} from './mounts.js';
export {
  DEFAULT_DATASTORE_LOCATION,
  type DiskLocation,
  diskLocation,
  type HostPath,
  type LocationOptions,
  MAX_ID,
  normalizeAbsolutePath,
  parseDiskPath,
  parseId,
  parseTmArgument,
  parseVmDirPath,
  parseVmPath,
  splitHostPath,
  type VmDirLocation,
  type VmLocation,
  validateHostName,
  vmDirLocation,
} from './paths.js';
export { DEFAULT_PROBE_TIMEOUT_MS, type ProbeImageOptions, probeImage } from './probe-image.js';
export {
  checkPathAllowed,
  DEFAULT_RESTRICTED_DIRS,
  type DirRules,
  decideRestriction,
  isUnder,
  type PathRestrictionOptions,
  parseDirList,
  type Restriction,
} from './restricted-dirs.js';
export {
  type DiskEntry,
  ensureVmDir,
  linkDisk,
  parseEntryLine,
  readDiskLink,
  removeDiskLink,
  removeVmDir,
  type VmDirOptions,
  validateDevicePath,
} from './vm-dir.js';
