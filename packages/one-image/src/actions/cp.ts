import { isFrontEnd, storageFor } from '@one-gfs2clvm/driver-runtime';
import { Gfs2Error } from '@one-gfs2clvm/gfs2';
import { type LvRef, parseSource, vmDiskLvName } from '@one-gfs2clvm/lvm';
import type { ImageData } from '../action-data.js';
import {
  type DatastoreStorage,
  type DsContext,
  type DsRequest,
  datastoreStorage,
  workHost,
} from '../context.js';
import { DsError } from '../errors.js';
import {
  checkFrontEndFile,
  checkHostFile,
  convertIntoImage,
  openFrontEndFile,
  probe,
  removeStaged,
  stageStream,
} from '../file-import.js';
import { checkImageId, copyLvIntoImage, imageRef } from '../image-lv.js';
import { assertMayUse, type OwnedObject } from '../permissions.js';
import { probeOnFrontEnd, uploadRawIntoImage } from '../raw-upload.js';
import { assertWithinSize } from '../size-check.js';
import { type ImageSource, parseImageSource, sourceForLog } from '../source.js';
import { fetchUrl, shortUrl, type UrlFetchOptions } from '../url-fetch.js';
import { parseAllowNets } from '../url-policy.js';
import { probeUrl } from '../url-probe.js';

/** A download that sends nothing for this long fails (the whole transfer may take hours). */
const DOWNLOAD_IDLE_MS = 600_000;

/** VM states in which its disks may be copied: STOPPED, SUSPENDED, POWEROFF, UNDEPLOYED. */
const COPYABLE_VM_STATES = new Map([
  [4, 'STOPPED'],
  [5, 'SUSPENDED'],
  [8, 'POWEROFF'],
  [9, 'UNDEPLOYED'],
]);
/** States in which the disk LVs stay active on the VM's host (no TM action released them). */
const LV_STAYS_ON_HOST = new Set([5, 8]);
const VM_ACTIVE = 3;

/** `cp <image id>`: imports the image's PATH into a new raw LV; prints `<vg>/<lv> raw`. */
export async function cp(ctx: DsContext, request: DsRequest): Promise<void> {
  const image = checkImageId(request, 'cp');
  const storage = datastoreStorage(ctx, request.data.datastore);
  const target = imageRef(storage, image.id);
  const source = parseImageSource(image.path, { datastoreLocation: ctx.config.datastoreLocation });
  switch (source.kind) {
    case 'vm-disk':
      await fromVmDisk(ctx, request, storage, source, target);
      break;
    case 'image':
      await fromImage(ctx, request, storage, source, target);
      break;
    default:
      await fromFile(ctx, request, storage, source, target);
  }
  ctx.stdout.write(`${target.vg}/${target.lv} raw\n`);
}

async function fromFile(
  ctx: DsContext,
  request: DsRequest,
  storage: DatastoreStorage,
  source: Exclude<ImageSource, { kind: 'vm-disk' | 'image' }>,
  target: LvRef,
): Promise<void> {
  const { image, datastore } = request.data;
  // Checks on the front-end come before any host is contacted.
  const feFile =
    source.kind === 'frontend-file' ? await checkFrontEndFile(ctx, source.path, datastore) : undefined;
  const urlOptions =
    source.kind === 'url' ? await checkUrl(ctx, storage, source.url, image.sizeMiB) : undefined;
  const host = ctx.hosts.get(await workHost(ctx, storage, image.id));
  // The VG's lock mode (a `vgs`, which lvcreate needs) is read while the file is checked and
  // probed: one round trip less on the way. A failure here is lvcreate's to report.
  const lockMode = host.lvm.lockModeOf(storage.vg).catch(() => undefined);
  let staged: string | undefined;
  try {
    let file: string;
    if (source.kind === 'host-path') {
      file = await checkHostFile(ctx, host, source.path, datastore);
    } else if (source.kind === 'frontend-file' && feFile) {
      // A raw file goes straight into the LV (no staged copy on GFS2: half the I/O, no GFS2 space).
      const local = await probeOnFrontEnd(ctx, feFile);
      if (local) assertWithinSize(local.virtualSize, image.sizeMiB, feFile);
      if (local?.format === 'raw') {
        ctx.log.info(`${feFile}: raw, ${local.virtualSize} bytes, streamed into the LV`);
        await lockMode;
        await uploadRawIntoImage(ctx, host, storage, feFile, target, image.sizeMiB);
        return;
      }
      const { body, length } = await openFrontEndFile(ctx, feFile);
      staged = await stageStream(ctx, host, body, length, `upload of ${feFile}`, `image-${image.id}`);
      file = staged;
    } else if (source.kind === 'url' && urlOptions) {
      const { body, length } = await fetchUrl(source.url, { ...urlOptions, idleTimeoutMs: DOWNLOAD_IDLE_MS });
      staged = await stageStream(
        ctx,
        host,
        body,
        length,
        `download of ${shortUrl(source.url)}`,
        `image-${image.id}`,
      );
      file = staged;
    } else {
      throw new DsError('INVALID_ARGUMENT', `cp: unknown source ${JSON.stringify(image.path.slice(0, 60))}`);
    }
    const probed = await probe(host.runner, file);
    ctx.log.info(`${sourceForLog(source)}: ${probed.format}, ${probed.virtualSize} bytes virtual`);
    // What is imported is what was probed here, whatever the source said before.
    assertWithinSize(
      probed.virtualSize,
      image.sizeMiB,
      source.kind === 'url' ? shortUrl(source.url) : source.path,
    );
    await lockMode;
    await convertIntoImage(ctx, host, storage, file, probed, target);
  } finally {
    if (staged) await removeStaged(host, staged);
  }
}

/**
 * A URL import's fetch options (URL_ALLOW_NETS of the datastore) after the image's head and tail
 * were probed through them (`url-probe.ts`, as `stat` does): an image larger than SIZE is refused
 * before a byte is staged. When they cannot be probed (no Range support, no length) the download
 * goes on: the probe of the downloaded file on the host decides, as it always does.
 */
async function checkUrl(
  ctx: DsContext,
  storage: DatastoreStorage,
  url: URL,
  sizeMiB: number,
): Promise<UrlFetchOptions> {
  const options: UrlFetchOptions = {
    action: 'cp',
    allow: parseAllowNets(storage.urlAllowNets),
    log: (line) => ctx.log.info(line),
  };
  const header = await probeUrl(url, options, { rangesOnly: true }).catch((error: unknown) => {
    // A refused address, a missing file or an unsafe image is final; the rest is the host probe's.
    if (DsError.hasCode(error, 'FORBIDDEN') || DsError.hasCode(error, 'NOT_FOUND')) throw error;
    if (Gfs2Error.isInstance(error) && ['UNSAFE_IMAGE', 'UNSUPPORTED_IMAGE'].includes(error.code))
      throw error;
    ctx.log.info(`${shortUrl(url)}: header not probed on the front-end (${(error as Error).message})`);
    return undefined;
  });
  if (header) assertWithinSize(header.virtualSize, sizeMiB, shortUrl(url));
  return options;
}

/** `lvm://<vm>/<disk>` (`snapshot://`): a copy of a VM disk, only while the VM does not run. */
async function fromVmDisk(
  ctx: DsContext,
  request: DsRequest,
  storage: DatastoreStorage,
  source: Extract<ImageSource, { kind: 'vm-disk' }>,
  target: LvRef,
): Promise<void> {
  const { image } = request.data;
  const what = `cp from lvm://${source.vmId}/${source.diskId}`;
  const vm = await ctx.one.vm(source.vmId);
  if (!vm.owner) throw new DsError('ONED', `onevm show -x ${vm.id}: no owner in the answer`);
  await checkOwner(ctx, image, { kind: 'VM', id: vm.id, ...vm.owner });
  const stateName = COPYABLE_VM_STATES.get(vm.state);
  if (stateName === undefined)
    throw new DsError(
      'CONFLICT',
      `${what}: VM ${vm.id} is ${vm.state === VM_ACTIVE ? 'running' : `in state ${vm.state}`}: suspend, power off or stop it first`,
    );
  const disk = vm.disks.find((d) => d.id === source.diskId);
  if (!disk) throw new DsError('NOT_FOUND', `${what}: VM ${vm.id} has no disk ${source.diskId}`);
  let from: LvRef;
  if (disk.persistent || disk.type === 'CDROM') {
    from = parseSource(disk.source);
  } else {
    if (vm.systemDsId === undefined)
      throw new DsError('NOT_FOUND', `${what}: VM ${vm.id} has no system datastore`);
    const sys = await ctx.one.datastore(vm.systemDsId);
    const vg = storageFor(ctx.config, sys.template).vgName || `vg-one-${sys.id}`;
    from = { vg, lv: vmDiskLvName(vm.id, disk.id) };
  }
  // Suspended or powered off: the LV is still active (exclusively) on the VM's host; read it there.
  const hostName =
    LV_STAYS_ON_HOST.has(vm.state) && vm.lastHost && !isFrontEnd(vm.lastHost, ctx.config)
      ? vm.lastHost
      : await workHost(ctx, storage, image.id);
  ctx.log.info(`${what}: VM ${vm.id} is ${stateName}, copying ${from.vg}/${from.lv} on ${hostName}`);
  await copyLvIntoImage(ctx, ctx.hosts.get(hostName), storage, from, 'exclusive', target);
}

/** `vol://<image>` (`image://`): a copy of another image, refused for a persistent image a running VM uses. */
async function fromImage(
  ctx: DsContext,
  request: DsRequest,
  storage: DatastoreStorage,
  source: Extract<ImageSource, { kind: 'image' }>,
  target: LvRef,
): Promise<void> {
  const { image } = request.data;
  const what = `cp from vol://${source.imageId}`;
  if (source.imageId === image.id)
    throw new DsError('INVALID_ARGUMENT', `${what}: an image cannot be copied into itself`);
  const src = await ctx.one.image(source.imageId);
  await checkOwner(ctx, image, { kind: 'image', id: src.id, ...src.owner });
  if (src.persistent) {
    for (const vmId of src.vmIds) {
      const vm = await ctx.one.vm(vmId);
      if (vm.state === VM_ACTIVE)
        throw new DsError('CONFLICT', `${what}: persistent image ${src.id} is in use by running VM ${vmId}`);
    }
  }
  if (src.source === '')
    throw new DsError('NOT_FOUND', `${what}: image ${src.id} has no SOURCE (not ready?)`);
  const from = parseSource(src.source);
  const host = ctx.hosts.get(await workHost(ctx, storage, image.id));
  await copyLvIntoImage(ctx, host, storage, from, src.persistent ? 'exclusive' : 'shared', target);
}

/** The new image's owner must be allowed to use the source (the 2012 driver had no such check). */
async function checkOwner(ctx: DsContext, image: ImageData, object: OwnedObject): Promise<void> {
  const user = await ctx.one.user(image.uid);
  assertMayUse({ id: image.uid, gid: image.gid, groups: user.groups, name: image.uname }, object);
}
