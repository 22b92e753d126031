import {
  type ActionContext,
  DriverError,
  expectArgs,
  type Host,
  monitorDatagrams,
  parseIdArg,
  parseMonitorPayload,
  pickWorkHost,
  readMonitordConf,
  readMonitordPubkey,
  sendDatagrams,
  storageFor,
  vmMonitorEntry,
} from '@one-gfs2clvm/driver-runtime';
import { hostsToAsk, vmDiskSizes, withAllocation } from '../vm-disk-sizes.js';

const MiB = 2 ** 20;

/**
 * `monitor <sys ds id>` + base64 DS_DRIVER_ACTION_DATA on stdin → `USED_MB=… FREE_MB=… TOTAL_MB=…`.
 * With `MONITOR_VM_DISKS` = 1 in the payload, also the per-VM disk sizes to onemonitord (README).
 */
export async function monitor(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  expectArgs(ctx.action, argv, [1, 2], '<ds id> (+ base64 DS_DRIVER_ACTION_DATA on stdin)');
  // ≤ 6.6 front-ends pass the base64 as the first argument and the id second.
  const [b64, idArg] =
    argv.length === 2 ? [argv[0] as string, argv[1] as string] : [await ctx.readStdin(), argv[0] as string];
  const dsId = parseIdArg(idArg, 'datastore id');
  const { datastore, monitorVmDisks } = parseMonitorPayload(
    Buffer.from(b64.trim(), 'base64').toString('utf8'),
  );
  if (datastore.id !== dsId)
    throw new DriverError('INVALID_ARGUMENT', `monitor ${dsId}: payload is datastore ${datastore.id}`);
  const storage = storageFor(ctx.config, datastore.template);
  const vgName = storage.vgName || `vg-one-${dsId}`;
  const hostName = await pickWorkHost(ctx.one, storage, datastore.clusterIds, dsId, ctx.config);
  const host = ctx.hosts.get(hostName);
  const vg = await host.lvm.getVg(vgName);
  const total = Math.floor(vg.sizeBytes / MiB);
  const free = Math.floor(vg.freeBytes / MiB);
  ctx.stdout.write(`USED_MB=${total - free} FREE_MB=${free} TOTAL_MB=${total}\n`);
  if (monitorVmDisks) await sendVmDiskSizes(ctx, host, vgName);
}

/** The VG's LVs as `host` reports them, thin allocations unknown there asked of their pool's host. */
async function lvReport(ctx: ActionContext, host: Host, vgName: string) {
  let lvs = await host.lvm.listLvs(vgName);
  for (const other of hostsToAsk(lvs, host.name)) {
    const theirs = await ctx.hosts
      .get(other)
      .lvm.listLvs(vgName)
      .catch((error: unknown) => {
        ctx.log.info(`thin disk sizes of VMs on ${other} left out: ${(error as Error).message}`);
        return [];
      });
    lvs = withAllocation(lvs, theirs);
  }
  return lvs;
}

/**
 * One LV report of the VG → `VM=[ID=…,MONITOR="…"]` per VM → UDP datagram(s) to onemonitord, as
 * OpenNebula's `send_to_monitor` does, RSA-encrypted when monitord.conf sets PUBKEY. Best effort
 * like there: a missing monitord.conf sends nothing; a bad one, a bad PUBKEY file or a failed send
 * is one log line, and the datastore's sizes above still reach oned.
 */
async function sendVmDiskSizes(ctx: ActionContext, host: Host, vgName: string): Promise<void> {
  try {
    const target = readMonitordConf(ctx.config.monitordConf);
    if (target === null) return;
    const pubkeyPem = target.pubkey === '' ? '' : readMonitordPubkey(target.pubkey);
    const sizes = vmDiskSizes(await lvReport(ctx, host, vgName));
    const entries = [...sizes].map(([vmId, disks]) => vmMonitorEntry(vmId, disks));
    await sendDatagrams(target, monitorDatagrams('MONITOR_VM', entries, { pubkeyPem }));
  } catch (error) {
    ctx.log.error(`per-VM disk sizes not sent: ${(error as Error).message}`);
  }
}
