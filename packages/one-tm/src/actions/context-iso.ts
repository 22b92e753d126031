import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ensureVmDir } from '@one-gfs2clvm/gfs2';
import { LocalRunner, sendToRemote } from '@one-gfs2clvm/ssh-remote';
import { expectArgs, parseHostDisk, parseIdArg, parseVmIdArg } from '../args.js';
import type { ActionContext } from '../context.js';
import { TmError } from '../errors.js';
import { isFrontEnd } from '../hosts.js';
import { hostCommandFailed } from '../lv-ops.js';

/** A file of the context ISO: `path` or `path:'name'` (oned's FILES with a target name). */
export function parseContextFile(spec: string): { path: string; name: string } {
  const named = /^(.+):'([^']+)'$/.exec(spec);
  const path = named ? (named[1] as string) : spec;
  const name = named ? (named[2] as string) : basename(spec);
  if (!path.startsWith('/'))
    throw new TmError(
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
    throw new TmError(
      'INVALID_ARGUMENT',
      `context file name ${JSON.stringify(name.slice(0, 60))} is not a plain file name`,
    );
  return { path, name };
}

/**
 * `context <context.sh> [files…] host:<vm dir>/disk.<n> <vm id> <sys ds id>`: builds the ISO on the
 * front-end (xorriso) and streams it over the host's SSH connection into `disk.<n>` on GFS2
 * (written under a temporary name, then renamed: a reader never sees half an ISO).
 */
export async function context(ctx: ActionContext, argv: readonly string[]): Promise<void> {
  if (argv.length < 4)
    throw new TmError(
      'USAGE',
      `context: expected at least 4 arguments, got ${argv.length}: <context.sh> [files…] host:<ds dir>/<vm>/disk.<n> <vm id> <ds id>`,
    );
  expectArgs(ctx.action, argv.slice(-3), [3], '');
  const files = argv.slice(0, -3).map(parseContextFile);
  const dst = parseHostDisk(argv[argv.length - 3] as string, ctx.config.datastoreLocation);
  parseVmIdArg(argv[argv.length - 2] as string, dst);
  parseIdArg(argv[argv.length - 1] as string, 'datastore id');
  if (isFrontEnd(dst.host, ctx.config))
    throw new TmError('INVALID_ARGUMENT', `context on the front-end ${dst.host}`);

  const work = await mkdtemp(join(tmpdir(), 'gfs2clvm-context-'));
  try {
    const tree = join(work, 'iso');
    await mkdir(tree);
    const seen = new Set<string>();
    for (const file of files) {
      if (seen.has(file.name))
        throw new TmError('INVALID_ARGUMENT', `context file name ${file.name} given twice`);
      seen.add(file.name);
      await copyFile(file.path, join(tree, file.name)).catch((error: NodeJS.ErrnoException) => {
        throw new TmError('NOT_FOUND', `context file ${file.path}: ${error.code ?? error.message}`, {
          cause: error,
        });
      });
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
      throw new TmError(
        'EXEC',
        `xorriso on the front-end failed (exit ${made.exitCode}): ${made.stderr.trim().split('\n').pop()}`,
      );

    const host = ctx.hosts.get(dst.host);
    await ensureVmDir(host.runner, dst);
    const temporary = `${dst.vmDir}/.disk.${dst.diskId}.${randomBytes(6).toString('hex')}.tmp`;
    const sent = await sendToRemote(host.runner, ['dd', `of=${temporary}`, 'bs=1M', 'status=none'], iso, {
      reject: false,
      timeoutMs: 600_000,
    });
    if (sent.exitCode !== 0) throw hostCommandFailed(host, `write ${temporary}`, sent.exitCode, sent.stderr);
    const moved = await host.runner.run(['mv', '-f', '-T', '--', temporary, dst.diskPath], {
      reject: false,
      timeoutMs: 60_000,
    });
    if (moved.exitCode !== 0) {
      await host.runner.run(['rm', '-f', '--', temporary], { reject: false, timeoutMs: 60_000 });
      throw hostCommandFailed(host, `rename to ${dst.diskPath}`, moved.exitCode, moved.stderr);
    }
    ctx.log.info(`context ISO (${sent.bytesSent} bytes) written to ${dst.diskPath} on ${host.name}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
