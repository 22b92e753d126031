import {
  type ActionContext,
  activateForVm,
  DriverError,
  destroyVmLv,
  expectArgs,
  hostCommandFailed,
  hostTag,
  isFrontEnd,
  mkfsArgv,
  parseIdArg,
  parseSizeMiB,
  removeEmptyVmDir,
  rollback,
  wipe,
} from '@one-gfs2clvm/driver-runtime';
import { ensureVmDir, linkDisk, readDiskLink } from '@one-gfs2clvm/gfs2';
import { devicePath, vmDiskLvName } from '@one-gfs2clvm/lvm';
import { parseHostDisk, parseVmIdArg } from '../args.js';
import { datastoreStorage } from '../context.js';
import { createThinDisk, removePoolIfEmpty, removeThinLv } from '../thin.js';

const MiB = 2 ** 20;

/** `mkimage <size MiB> <format> host:<vm dir>/disk.<n> <vm id> <sys ds id>`: a volatile disk. */
export async function mkimage(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  expectArgs(ctx.action, argv, [5], '<size MiB> <format> host:<ds dir>/<vm>/disk.<n> <vm id> <sys ds id>');
  const [size, format, dst, vmId, dsId] = argv as [string, string, string, string, string];
  await makeVolatile(ctx, size, format, dst, vmId, dsId);
}

/** `mkswap <size MiB> host:<vm dir>/disk.<n> <vm id> <sys ds id>`: a volatile swap disk. */
export async function mkswap(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  expectArgs(ctx.action, argv, [4], '<size MiB> host:<ds dir>/<vm>/disk.<n> <vm id> <sys ds id>');
  const [size, dst, vmId, dsId] = argv as [string, string, string, string];
  await makeVolatile(ctx, size, 'swap', dst, vmId, dsId);
}

async function makeVolatile(
  ctx: ActionContext,
  sizeArg: string,
  formatArg: string,
  dstArg: string,
  vmIdArg: string,
  dsIdArg: string,
): Promise<void> {
  const sizeMiB = parseSizeMiB(sizeArg);
  if (!/^[a-z0-9]{1,16}$/.test(formatArg))
    throw new DriverError(
      'INVALID_ARGUMENT',
      `format ${JSON.stringify(formatArg.slice(0, 30))} is not a disk format`,
    );
  const dst = parseHostDisk(dstArg, ctx.config.datastoreLocation);
  const vmId = parseVmIdArg(vmIdArg, dst);
  parseIdArg(dsIdArg, 'datastore id');
  if (isFrontEnd(dst.host, ctx.config))
    throw new DriverError(
      'INVALID_ARGUMENT',
      `${ctx.action} on the front-end ${dst.host}: it cannot see the SAN`,
    );

  const vm = await ctx.one.vm(vmId);
  const disk = vm.disks.find((d) => d.id === dst.diskId);
  const fs = formatArg === 'swap' ? '' : (disk?.fs ?? '').trim();
  if (fs !== '' && !ctx.config.supportedFs.includes(fs))
    throw new DriverError(
      'UNSUPPORTED',
      `file system ${fs} not allowed (SUPPORTED_FS: ${ctx.config.supportedFs.join(',')})`,
    );

  const sys = await datastoreStorage(ctx, dst.dsId);
  const host = ctx.hosts.get(dst.host);
  const target = { vg: sys.vg, lv: vmDiskLvName(vmId, dst.diskId) };
  const dev = devicePath(target);

  const [entry, existing] = await Promise.all([
    readDiskLink(host.runner, dst),
    host.lvm.findLv(target.vg, target.lv),
  ]);
  if (existing && entry.type === 'symlink' && entry.target === dev) {
    ctx.log.info(`${target.vg}/${target.lv} already made; making sure it is active on ${host.name}`);
    await activateForVm(host, target);
    return;
  }
  if (existing) await destroyVmLv(ctx, host, target, false);

  await ensureVmDir(host.runner, dst);
  const undo: Array<() => Promise<unknown>> = [() => removeEmptyVmDir(host, dst.vmDir)];
  try {
    if (sys.thinProvisioning) {
      // A new thin LV reads as zeros: nothing to wipe.
      undo.push(() => removePoolIfEmpty(ctx, host, target.vg, vmId, false));
      await createThinDisk(ctx, host, vmId, target, sizeMiB * MiB);
      undo.push(() => removeThinLv(ctx, host, target));
    } else {
      await host.lvm.createLv({
        vg: target.vg,
        lv: target.lv,
        sizeBytes: sizeMiB * MiB,
        tags: [hostTag(host.name)],
      });
      undo.push(() => destroyVmLv(ctx, host, target, false));
      if (sys.zeroOnCreate) await wipe(ctx, host, target);
    }
    const format = formatArg === 'swap' ? ['mkswap', dev] : fs !== '' ? mkfsArgv(fs, dev) : undefined;
    if (format) {
      const made = await host.data.run(format, { reject: false, timeoutMs: 3600_000 });
      if (made.exitCode !== 0)
        throw hostCommandFailed(
          host,
          `${format[0]} ${fs || 'swap'} ${target.lv}`,
          made.exitCode,
          made.stderr,
        );
    }
    await linkDisk(host.runner, dst, dev);
  } catch (error) {
    await rollback(ctx, undo);
    throw error;
  }
}
