import {
  type ActionContext,
  DriverError,
  expectArgs,
  parseIdArg,
  parseMonitorPayload,
  pickWorkHost,
  storageFor,
} from '@one-gfs2clvm/driver-runtime';

const MiB = 2 ** 20;

/** `monitor <sys ds id>` + base64 DS_DRIVER_ACTION_DATA on stdin → `USED_MB=… FREE_MB=… TOTAL_MB=…`. */
export async function monitor(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  expectArgs(ctx.action, argv, [1, 2], '<ds id> (+ base64 DS_DRIVER_ACTION_DATA on stdin)');
  // ≤ 6.6 front-ends pass the base64 as the first argument and the id second.
  const [b64, idArg] =
    argv.length === 2 ? [argv[0] as string, argv[1] as string] : [await ctx.readStdin(), argv[0] as string];
  const dsId = parseIdArg(idArg, 'datastore id');
  const { datastore } = parseMonitorPayload(Buffer.from(b64.trim(), 'base64').toString('utf8'));
  if (datastore.id !== dsId)
    throw new DriverError('INVALID_ARGUMENT', `monitor ${dsId}: payload is datastore ${datastore.id}`);
  const storage = storageFor(ctx.config, datastore.template);
  const vgName = storage.vgName || `vg-one-${dsId}`;
  const hostName = await pickWorkHost(ctx.one, storage, datastore.clusterIds, dsId, ctx.config);
  const vg = await ctx.hosts.get(hostName).lvm.getVg(vgName);
  const total = Math.floor(vg.sizeBytes / MiB);
  const free = Math.floor(vg.freeBytes / MiB);
  ctx.stdout.write(`USED_MB=${total - free} FREE_MB=${free} TOTAL_MB=${total}\n`);
}
