import {
  type ActionContext,
  activateForVm,
  DriverError,
  expectArgs,
  type Host,
  parseHost,
  parseIdArg,
  parseVmXml,
  releaseFromHost,
  rollback,
  type VmInfo,
} from '@one-gfs2clvm/driver-runtime';
import type { LvRef } from '@one-gfs2clvm/lvm';
import { parsePlainVmDir, parseVmIdArg } from '../args.js';
import { listDiskLinks } from '../disk-link.js';
import { linkTarget } from './delete.js';

const USAGE = '<src host> <dst host> <ds dir>/<vm> <vm id> <sys ds id> (+ base64 VM XML on stdin)';

interface MigrationDisk {
  diskId: number;
  ref: LvRef;
  /** CDROMs stay shared on every host. */
  shared: boolean;
}

interface Migration {
  src: Host;
  dst: Host;
  disks: MigrationDisk[];
}

/** Reads the arguments, the VM XML and the LVs linked in the VM directory (one `find` on the source). */
async function prepare(ctx: ActionContext, argv: readonly string[]): Promise<Migration | null> {
  expectArgs(ctx.action, argv, [5, 6], USAGE);
  // A sixth word is the calling driver (OpenNebula's migrate_other): that driver handles its own disks.
  if (argv.length === 6) return null;
  const srcName = parseHost(argv[0] as string);
  const dstName = parseHost(argv[1] as string);
  const vmDir = parsePlainVmDir(argv[2] as string, ctx.config.datastoreLocation);
  const vmId = parseVmIdArg(argv[3] as string, vmDir);
  parseIdArg(argv[4] as string, 'datastore id');
  if (srcName === dstName)
    throw new DriverError('INVALID_ARGUMENT', `${ctx.action}: source and destination are both ${srcName}`);
  const vm = await vmFromStdin(ctx, vmId);
  const src = ctx.hosts.get(srcName);
  const dst = ctx.hosts.get(dstName);
  const links = await listDiskLinks(src, vmDir);
  const disks: MigrationDisk[] = [];
  for (const { diskId, target } of links) {
    const ref = linkTarget(target);
    if (!ref) continue;
    const shared = vm.disks.find((d) => d.id === diskId)?.type.toUpperCase() === 'CDROM';
    disks.push({ diskId, ref, shared });
  }
  return { src, dst, disks };
}

async function vmFromStdin(ctx: ActionContext, vmId: number): Promise<VmInfo> {
  const b64 = (await ctx.readStdin()).trim();
  if (b64 === '') return ctx.one.vm(vmId);
  const vm = parseVmXml(Buffer.from(b64, 'base64').toString('utf8'));
  if (vm.id !== vmId)
    throw new DriverError('INVALID_ARGUMENT', `VM XML on stdin is VM ${vm.id}, not ${vmId}`);
  return vm;
}

async function refuseThin(m: Migration): Promise<void> {
  for (const disk of m.disks) {
    const lv = await m.src.lvm.getLv(disk.ref.vg, disk.ref.lv);
    if (lv.pool !== null || lv.layout.includes('thin') || lv.origin !== null)
      throw new DriverError(
        'UNSUPPORTED',
        `live migration of thin/snapshot disk ${disk.ref.lv} refused (cannot be shared)`,
      );
  }
}

/** `premigrate`: exclusive → shared on the source (in place), shared on the destination. */
export async function premigrate(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const m = await prepare(ctx, argv);
  if (!m) return;
  await refuseThin(m);
  const undo: Array<() => Promise<unknown>> = [];
  try {
    for (const disk of m.disks) {
      if (!disk.shared) {
        await m.src.lvm.activateLv(disk.ref.vg, disk.ref.lv, 'shared');
        undo.push(() => m.src.lvm.activateLv(disk.ref.vg, disk.ref.lv, 'exclusive'));
      }
      await m.dst.lvm.activateLv(disk.ref.vg, disk.ref.lv, 'shared');
      undo.push(() => m.dst.lvm.ensureInactive(disk.ref.vg, disk.ref.lv));
    }
  } catch (error) {
    await rollback(ctx, undo);
    throw error;
  }
}

/** `postmigrate`: deactivate on the source, exclusive (in place) on the destination. */
export async function postmigrate(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const m = await prepare(ctx, argv);
  if (m) await moveActivation(m.src, m.dst, m.disks);
}

/** `failmigrate` undoes `premigrate`: deactivate on the destination, exclusive again on the source. */
export async function failmigrate(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  const m = await prepare(ctx, argv);
  if (m) await moveActivation(m.dst, m.src, m.disks);
}

/** Each disk released on `from`, then active on `to`: shared (CDROM) as before, else exclusive for the VM. */
async function moveActivation(from: Host, to: Host, disks: readonly MigrationDisk[]): Promise<void> {
  for (const disk of disks) {
    await releaseFromHost(from, disk.ref, { ignoreInUse: disk.shared });
    if (disk.shared) await to.lvm.ensureActive(disk.ref.vg, disk.ref.lv, 'shared');
    else await activateForVm(to, disk.ref);
  }
}
