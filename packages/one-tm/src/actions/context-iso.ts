import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type ActionContext,
  DriverError,
  expectArgs,
  isFrontEnd,
  parseIdArg,
} from '@one-gfs2clvm/driver-runtime';
import { checkPathAllowed, ensureVmDir, Gfs2Error, placeFile } from '@one-gfs2clvm/gfs2';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { parseHostDisk, parseVmIdArg } from '../args.js';

/** A file of the context ISO: `path` or `path:'name'` (oned's FILES with a target name). */
export function parseContextFile(spec: string): { path: string; name: string } {
  const named = /^(.+):'([^']+)'$/.exec(spec);
  const path = named ? (named[1] as string) : spec;
  const name = named ? (named[2] as string) : basename(spec);
  if (!path.startsWith('/'))
    throw new DriverError(
      'INVALID_ARGUMENT',
      `context file ${JSON.stringify(spec.slice(0, 60))} is not absolute`,
    );
  if (
    name === '.' ||
    name === '..' ||
    name.includes('/') ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    /[\u0000-\u001f]/.test(name) ||
    name.length > 200
  )
    throw new DriverError(
      'INVALID_ARGUMENT',
      `context file name ${JSON.stringify(name.slice(0, 60))} is not a plain file name`,
    );
  return { path, name };
}

/**
 * Restricted for the files a VM names, on top of `cp`'s policy (`checkPathAllowed` of the gfs2
 * library: `/var/lib/one`, `/etc/one`, the driver user's `$HOME`, logs, `/run`, `/proc`, `/sys`,
 * `/dev`, and the datastore's `RESTRICTED_DIRS`): OpenNebula's own default for context files
 * (oned.conf `CONTEXT_RESTRICTED_DIRS`).
 */
export const CONTEXT_RESTRICTED_DIRS: readonly string[] = ['/etc'];

/** Where a context file comes from, which decides the policy applied to it. */
export type ContextFileKind = 'oned' | 'image' | 'user';

/**
 * oned's argv: its own `context.sh` first, the user's FILES, the FILES_DS images as
 * `<image source>:'<name>'`, the OneGate `token.txt` beside `context.sh` last (design §2.2).
 * `oned`: the first file and `token.txt` in its directory (oned writes them, in its own
 * `/var/lib/one/vms/<vm>`); `image`: a `path:'name'` whose real path is a file directly in a
 * datastore directory (`<DATASTORE_LOCATION>/<id>/<file>`, where FILE datastores keep their
 * images); `user`: everything else. Pure; `realDatastoreLocation` already resolved.
 */
export function contextFileKind(
  files: readonly { path: string; name: string; named: boolean }[],
  index: number,
  realPath: string,
  realDatastoreLocation: string,
): ContextFileKind {
  const file = files[index] as { path: string; name: string; named: boolean };
  const first = files[0] as { path: string };
  if (index === 0 || (file.path === join(dirname(first.path), 'token.txt') && !file.named)) return 'oned';
  const dsDir = dirname(realPath);
  if (file.named && dirname(dsDir) === realDatastoreLocation && /^[0-9]+$/.test(basename(dsDir)))
    return 'image';
  return 'user';
}

/**
 * The real path of context file `index`, after the policy of its kind: a `user` file must pass
 * `cp`'s path policy (realpath, `RESTRICTED_DIRS`/`SAFE_DIRS` of the system datastore, the same
 * defaults) plus `CONTEXT_RESTRICTED_DIRS`. Refusals are `FORBIDDEN` (restricted) or
 * `INVALID_ARGUMENT`/`NOT_FOUND`, one line naming the file.
 */
async function allowedContextPath(
  ctx: ActionContext,
  files: readonly { path: string; name: string; named: boolean }[],
  index: number,
  rules: () => Promise<{ restrictedDirs: string; safeDirs: string | undefined }>,
): Promise<string> {
  const file = files[index] as { path: string };
  const real = await realpath(file.path).catch((error: NodeJS.ErrnoException) => {
    throw new DriverError(
      'NOT_FOUND',
      `context file refused: ${JSON.stringify(file.path)}: ${error.code ?? error.message}`,
      {
        cause: error,
      },
    );
  });
  const kind = contextFileKind(
    files,
    index,
    real,
    await realpath(ctx.config.datastoreLocation).catch(() => ''),
  );
  if (kind !== 'user') return real;
  const local = new LocalRunner();
  try {
    return await checkPathAllowed(local, file.path, { ...(await rules()), user: ctx.config.sshUser });
  } catch (error) {
    if (!Gfs2Error.isInstance(error)) throw error;
    const code =
      error.code === 'RESTRICTED'
        ? 'FORBIDDEN'
        : error.code === 'NOT_FOUND'
          ? 'NOT_FOUND'
          : 'INVALID_ARGUMENT';
    throw new DriverError(code, `context file refused: ${error.message}`, { cause: error });
  } finally {
    await local.close();
  }
}

/**
 * Copies a regular file (opened without following a symlink, without blocking on a FIFO, checked
 * on the open descriptor: a directory, device or FIFO is refused, nothing copied).
 */
async function copyRegularFile(real: string, given: string, target: string): Promise<void> {
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: NodeJS.ErrnoException) => {
      throw new DriverError(
        'NOT_FOUND',
        `context file refused: ${JSON.stringify(given)}: ${error.code ?? error.message}`,
        {
          cause: error,
        },
      );
    },
  );
  try {
    if (!(await handle.stat()).isFile())
      throw new DriverError(
        'INVALID_ARGUMENT',
        `context file refused: ${JSON.stringify(given)} is not a regular file`,
      );
    const out = await open(target, 'wx', 0o600);
    await pipeline(handle.createReadStream({ autoClose: false }), out.createWriteStream());
  } finally {
    await handle.close();
  }
}

/**
 * `context <context.sh> [files…] host:<vm dir>/disk.<n> <vm id> <sys ds id>`: builds the ISO on the
 * front-end (xorriso) and streams it over the host's SSH connection into `disk.<n>` on GFS2
 * (gfs2 `placeFile`: written under a temporary name, then renamed; a reader never sees half an ISO).
 */
export async function context(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  if (argv.length < 4)
    throw new DriverError(
      'USAGE',
      `context: expected at least 4 arguments, got ${argv.length}: <context.sh> [files…] host:<ds dir>/<vm>/disk.<n> <vm id> <ds id>`,
    );
  expectArgs(ctx.action, argv.slice(-3), [3], '');
  const files = argv
    .slice(0, -3)
    .map((spec) => ({ ...parseContextFile(spec), named: /:'[^']+'$/.test(spec) }));
  const dst = parseHostDisk(argv[argv.length - 3] as string, ctx.config.datastoreLocation);
  parseVmIdArg(argv[argv.length - 2] as string, dst);
  const dsId = parseIdArg(argv[argv.length - 1] as string, 'datastore id');
  if (isFrontEnd(dst.host, ctx.config))
    throw new DriverError('INVALID_ARGUMENT', `context on the front-end ${dst.host}`);

  const work = await mkdtemp(join(tmpdir(), 'gfs2clvm-context-'));
  try {
    const tree = join(work, 'iso');
    await mkdir(tree);
    const seen = new Set<string>();
    // The system datastore's RESTRICTED_DIRS/SAFE_DIRS, asked once and only for a user's file.
    let template: Promise<Record<string, string>> | undefined;
    const rules = async () => {
      template ??= ctx.one.datastore(dsId).then((ds) => ds.template);
      const t = await template;
      return {
        restrictedDirs: [...CONTEXT_RESTRICTED_DIRS, t.RESTRICTED_DIRS ?? ''].join(' '),
        safeDirs: t.SAFE_DIRS,
      };
    };
    for (const [index, file] of files.entries()) {
      if (seen.has(file.name))
        throw new DriverError('INVALID_ARGUMENT', `context file name ${file.name} given twice`);
      seen.add(file.name);
      const real = await allowedContextPath(ctx, files, index, rules);
      await copyRegularFile(real, file.path, join(tree, file.name));
    }
    const iso = join(work, 'context.iso');
    const local = new LocalRunner();
    const made = await local.run(
      ['xorriso', '-as', 'mkisofs', '-quiet', '-o', iso, '-V', 'CONTEXT', '-J', '-R', tree],
      {
        reject: false,
        timeoutMs: 300_000,
      },
    );
    if (made.exitCode !== 0)
      throw new DriverError(
        'EXEC',
        `xorriso on the front-end failed (exit ${made.exitCode}): ${made.stderr.trim().split('\n').pop()}`,
      );

    const host = ctx.hosts.get(dst.host);
    await ensureVmDir(host.runner, dst);
    const placed = await placeFile(host.runner, dst, `disk.${dst.diskId}`, iso);
    ctx.log.info(`context ISO (${placed.bytes} bytes) written to ${placed.path} on ${host.name}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
