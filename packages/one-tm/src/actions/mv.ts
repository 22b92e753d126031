import { readDiskLink } from '@one-gfs2clvm/gfs2';
import { LvmError, type LvRef } from '@one-gfs2clvm/lvm';
import { RemoteError } from '@one-gfs2clvm/ssh-remote';
import { expectArgs, parseIdArg, parseLocation, parseVmIdArg } from '../args.js';
import { type ActionContext, datastoreStorage } from '../context.js';
import { TmError } from '../errors.js';
import { isFrontEnd } from '../hosts.js';
import { activateForVm, releaseFromHost } from '../lv-ops.js';
import { linkTarget } from './delete.js';

/**
 * `mv src:<vm dir>[/disk.<n>] dst:<vm dir>[/disk.<n>] <vm id> <ds id>`: cold migration, stop,
 * undeploy, resume. The VM directory is the same path on every host (GFS2): only activation moves.
 */
export async function mv(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  expectArgs(
    ctx.action,
    argv,
    [4],
    'src:<ds dir>/<vm>[/disk.<n>] dst:<ds dir>/<vm>[/disk.<n>] <vm id> <ds id>',
  );
  const src = parseLocation(argv[0] as string, ctx.config.datastoreLocation);
  const dst = parseLocation(argv[1] as string, ctx.config.datastoreLocation);
  const vmId = parseVmIdArg(argv[2] as string, src);
  parseVmIdArg(argv[2] as string, dst);
  parseIdArg(argv[3] as string, 'datastore id');
  if (src.kind !== dst.kind)
    throw new TmError('INVALID_ARGUMENT', `mv ${src.path} to ${dst.path}: not the same kind`);
  if (src.path !== dst.path)
    throw new TmError(
      'UNSUPPORTED',
      `mv to another system datastore (${src.dsId} to ${dst.dsId}) not supported yet`,
    );
  if (src.kind === 'vmdir' || dst.kind !== 'disk') return; // same GFS2 path: nothing to move

  const srcOnFe = isFrontEnd(src.host, ctx.config);
  const dstOnFe = isFrontEnd(dst.host, ctx.config);
  if (srcOnFe && dstOnFe) return;
  const reader = ctx.hosts.get(dstOnFe ? src.host : dst.host);
  const entry = await readDiskLink(reader.runner, dst);
  if (entry.type !== 'symlink') {
    ctx.log.info(`${dst.path} is ${entry.type}: nothing to activate`);
    return;
  }
  const target = linkTarget(entry.target);
  if (!target) return;
  const vm = await ctx.one.vm(vmId);
  const shared = vm.disks.find((d) => d.id === dst.diskId)?.type.toUpperCase() === 'CDROM';
  await datastoreStorage(ctx, dst.dsId); // fails early on an unknown datastore

  if (!srcOnFe && src.host !== dst.host) await releaseOnSource(ctx, src.host, target);
  if (!dstOnFe) {
    const host = ctx.hosts.get(dst.host);
    if (shared) await host.lvm.ensureActive(target.vg, target.lv, 'shared');
    else await activateForVm(host, target);
  }
}

/** A source host that is down (cold migration away from a failed host) must not block the move. */
async function releaseOnSource(ctx: ActionContext, hostName: string, target: LvRef): Promise<void> {
  try {
    await releaseFromHost(ctx.hosts.get(hostName), target, { ignoreInUse: false });
  } catch (error) {
    const unreachable =
      RemoteError.isInstance(error) ||
      (LvmError.isInstance(error) &&
        RemoteError.isInstance(error.cause) &&
        error.cause.code === 'UNREACHABLE');
    if (!unreachable) throw error;
    ctx.log.error(
      `${hostName} unreachable, ${target.vg}/${target.lv} not deactivated there: ${(error as Error).message}`,
    );
  }
}
