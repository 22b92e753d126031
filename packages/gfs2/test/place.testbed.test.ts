import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskLocation, type VmDirLocation, vmDirLocation } from '../src/paths.js';
import { placeFile } from '../src/place.js';
import { ensureVmDir } from '../src/vm-dir.js';
import { refusal } from './helpers.js';

// placeFile on the real GFS2 of the testbed (tools/testbed), as one-tm context uses it: the VM dir
// of VM 4400 (this suite's id range: 4400-4499) in system datastore 100, written by oneadmin on one
// host and read on the other. Only that VM dir is written; it is removed again as root.
const SYS_DS = 100;
const VM = 4400;
const MiB = 2 ** 20;

let cluster: Cluster;
let node1: Runner;
/** The reader: oneadmin on the second host when it mounts the GFS2 too (lock_dlm), else node1. */
let reader: Runner;
let root1: Runner;
let vmDir: VmDirLocation;

beforeAll(async () => {
  cluster = await attach();
  const [first, second] = cluster.hosts;
  if (!first || !cluster.gfs2Hosts.includes(first.name))
    throw new Error(`the testbed mounts no GFS2 on its first host (gfs2: ${cluster.gfs2})`);
  node1 = first.runner('oneadmin');
  root1 = first.runner('root');
  reader = second && cluster.gfs2Hosts.includes(second.name) ? second.runner('oneadmin') : node1;
  vmDir = vmDirLocation(cluster.datastores, SYS_DS, VM);
  await root1.run(['rm', '-r', '-f', '--one-file-system', '--', vmDir.vmDir]);
  await ensureVmDir(node1, vmDir);
}, 120_000);

afterAll(async () => {
  await root1?.run(['rm', '-r', '-f', '--one-file-system', '--', vmDir.vmDir]);
  await cluster?.close();
});

/** The entries of the VM dir, hidden ones included, as the other host sees them. */
async function entries(): Promise<string[]> {
  const listed = await reader.run(['ls', '-A', '--', vmDir.vmDir]);
  return listed.stdout.split('\n').filter((name) => name !== '');
}

async function sha256On(host: Runner, path: string): Promise<string> {
  return (await host.run(['sha256sum', '--', path])).stdout.split(' ')[0] as string;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('placeFile on the shared GFS2 (VM 4400 in system datastore 100)', () => {
  it('replaces the content atomically: a reader on the other host sees the old or the new file, whole', async () => {
    const path = `${vmDir.vmDir}/disk.4`;
    const old = Buffer.alloc(8 * MiB, 'a');
    const next = Buffer.alloc(8 * MiB, 'b');
    await expect(placeFile(node1, vmDir, 'disk.4', Readable.from([old]))).resolves.toEqual({
      path,
      bytes: 8 * MiB,
    });
    expect(await sha256On(reader, path)).toBe(sha256(old));
    // The other host hashes disk.4 over and over while node1 replaces it.
    const readLoop = 'end=$(($(date +%s)+$2)); while [ "$(date +%s)" -lt "$end" ]; do sha256sum < "$1"; done';
    const out = new PassThrough();
    let printed = '';
    out.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const firstLine = new Promise((resolve) => out.once('data', resolve));
    const reading = reader.run(['sh', '-c', readLoop, 'sh', path, '25'], { timeoutMs: 90_000, stdout: out });
    await firstLine; // the reader is at work before the replacement starts
    await placeFile(node1, vmDir, 'disk.4', Readable.from([next]));
    const seen = await reading;
    expect(seen.stderr).toBe(''); // never missing, never unreadable
    const hashes = printed.split('\n').filter((line) => line !== '');
    expect(hashes.length).toBeGreaterThan(1);
    expect(new Set(hashes.map((line) => line.split(' ')[0]))).toEqual(new Set([sha256(old), sha256(next)]));
    expect(await sha256On(reader, path)).toBe(sha256(next));
    expect(await entries()).toEqual(['disk.4']); // no temporary file left
  }, 120_000);

  it('leaves a directory at the name alone and removes the temporary file', async () => {
    const dir = `${vmDir.vmDir}/disk.5`;
    await node1.run(['mkdir', '-p', '--', `${dir}/inner`]);
    const error = await refusal(placeFile(node1, diskLocation(vmDir, 5), 'disk.5', Readable.from(['x'])));
    expect(error.code).toBe('EXEC');
    expect(error.message).toMatch(
      new RegExp(`^rename to ${dir} failed on node1 \\(exit 1\\): mv: cannot overwrite directory`),
    );
    expect(await entries()).toEqual(['disk.4', 'disk.5']);
    expect((await reader.run(['ls', '-A', '--', dir])).stdout).toBe('inner\n');
    await node1.run(['rm', '-r', '--', dir]);
  }, 60_000);

  it('removes the temporary file when the transfer breaks half-way; the old file stays', async () => {
    const before = await sha256On(reader, `${vmDir.vmDir}/disk.4`);
    const breaking = Readable.from(
      (async function* () {
        yield Buffer.alloc(4 * MiB, 'c');
        await new Promise((resolve) => setTimeout(resolve, 2000)); // the temporary file exists now
        throw new Error('source broke');
      })(),
    );
    const error = await refusal(placeFile(node1, vmDir, 'disk.4', breaking));
    expect(error.code).toBe('EXEC');
    expect(await entries()).toEqual(['disk.4']);
    expect(await sha256On(reader, `${vmDir.vmDir}/disk.4`)).toBe(before);
  }, 60_000);

  it('removes the temporary file when the write runs out of time (retryable)', async () => {
    const endless = Readable.from(
      (async function* () {
        for (;;) {
          yield Buffer.alloc(64 * 1024, 'd');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })(),
    );
    const error = await refusal(placeFile(node1, vmDir, 'disk.6', endless, { writeTimeoutMs: 3000 }));
    endless.destroy();
    expect(error.code).toBe('EXEC');
    expect(error.isRetryable).toBe(true);
    expect(error.message).toMatch(/timed out/);
    expect(await entries()).toEqual(['disk.4']);
  }, 60_000);

  it('refuses names that lead out of the VM dir, running nothing; nothing appears beside it', async () => {
    for (const name of ['..', '../4401', '/etc/x', '-f', '.disk.4.0123456789ab.tmp', 'a;touch x', 'a\nb']) {
      const error = await refusal(placeFile(node1, vmDir, name, Readable.from(['x'])));
      expect(error.code, name).toBe('INVALID_PATH');
    }
    const forged = { ...vmDir, path: `${cluster.datastores}/${SYS_DS}` };
    expect((await refusal(placeFile(node1, forged, 'x', Readable.from(['x'])))).code).toBe(
      'OUTSIDE_DATASTORE',
    );
    // Other suites may share the datastore dir: only what these names could have made is looked for.
    const beside = await reader.run(['ls', '-A', '--', vmDir.dsDir]);
    expect(beside.stdout.split('\n').filter((n) => /^(\.?4401|x|\..*\.tmp)$/.test(n))).toEqual([]);
    expect((await node1.run(['test', '-e', '/etc/x'], { reject: false })).exitCode).toBe(1);
    expect(await entries()).toEqual(['disk.4']);
  }, 60_000);
});
