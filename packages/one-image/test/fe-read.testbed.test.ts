import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type FrontEnd, MiB, setUpFrontEnd, sh, VG } from '@one-gfs2clvm/one-harness/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMG_DS_TEMPLATE, imageXml, payload, STAGING } from './image-fixtures.js';

/*
 * The cases of issue 13 item 2 and issue 14 item 4 that reach a host: a front-end file that
 * vanishes after the host was asked (one line, no LV, nothing staged) and a URL whose query string
 * (a presigned token) must not appear in any line of a successful or failed import.
 * Ids of this suite: images 3210–3212.
 */

const IDS = [3210, 3211, 3212];
let env: FrontEnd;
let server: Server;
let baseUrl: string;

/** One command on node1 (the VG's metadata is shared): removes this suite's LVs, if any. */
async function cleanUp(): Promise<void> {
  const lvs = IDS.map((id) => `${VG}/lv-oneimg-${id}`);
  await env.root('node1').run(['lvremove', '-y', ...lvs], { reject: false, timeoutMs: 300_000 });
}

/** This suite's image LVs and staged files that exist, read on node1 in one command. */
async function leftovers(): Promise<string[]> {
  const out = await sh(env.root('node1'), [
    'sh',
    '-c',
    'lvs --noheadings -o lv_name "$1"; ls -A "$2" 2>/dev/null; true',
    'sh',
    VG,
    STAGING,
  ]);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((name) => IDS.some((id) => name === `lv-oneimg-${id}` || name.startsWith(`image-${id}-`)));
}

beforeAll(async () => {
  // Root over SSH with plain LVM, as these suites always ran (the one-tm suites run as oneadmin).
  env = await setUpFrontEnd({ asRoot: true });
  await cleanUp();
  const raw = join(env.dir, 'disk.raw');
  writeFileSync(raw, randomBytes(MiB));
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(env.dir, 'disk.qcow2')]);
  const qcow2 = readFileSync(join(env.dir, 'disk.qcow2'));
  server = createServer((req, res) => {
    if (!req.url?.startsWith('/disk.qcow2')) return void res.writeHead(404).end();
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!range) return void res.writeHead(200, { 'content-length': qcow2.length }).end(qcow2);
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), qcow2.length - 1);
    res.writeHead(206, {
      'content-range': `bytes ${start}-${end}/${qcow2.length}`,
      'content-length': end - start + 1,
    });
    res.end(qcow2.subarray(start, end + 1));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 600_000);

afterAll(async () => {
  server?.close();
  if (!env) return;
  await cleanUp();
}, 600_000);

/** Deletes `<name>` at the action's second open of it: after the checks and the host's first answer. */
const vanishOnSecondOpen = (name: string) => `
import fsp from 'node:fs/promises';
import { unlinkSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const open = fsp.open;
let opens = 0;
fsp.open = (path, ...rest) => {
  if (String(path).endsWith('/${name}') && ++opens === 2) unlinkSync(path);
  return open(path, ...rest);
};
syncBuiltinESMExports();
`;

describe('a front-end file that vanishes once the host was asked (issue 13 item 2)', () => {
  it('one line, exit 1, no LV, nothing staged', async () => {
    const file = join(env.dir, 'gone.raw');
    writeFileSync(file, randomBytes(MiB));
    const preload = join(env.dir, 'vanish.mjs');
    writeFileSync(preload, vanishOnSecondOpen('gone.raw'));
    const child = spawn(
      process.execPath,
      ['--import', preload, join(env.dir, 'remotes', 'datastore', 'gfs2clvm', 'cp'), '3210'],
      {
        env: { ...process.env, ...env.oned.env, GFS2CLVM_CONF: join(env.dir, 'gfs2clvm.conf') },
        timeout: 300_000,
      },
    );
    child.stdin.end(Buffer.from(payload(imageXml({ id: 3210, path: file, sizeMiB: 1 }))).toString('base64'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    const [code] = await once(child, 'close');
    const plain = stderr.split('\n').filter((l) => l !== '' && !/^(ERROR|INFO|DEBUG): /.test(l));
    expect(plain).toEqual([`cp: cannot read ${file} on the front-end: no such file or directory`]);
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(plain[0]);
    expect(stderr).toMatch(/^ERROR: cp: DsError \[NOT_FOUND\]/m);
    // The host was asked (the VG's lock mode) before the file went.
    expect(stderr).toMatch(/^DEBUG: cp: .*vgs/m);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(await leftovers()).toEqual([]);
  }, 300_000);
});

describe('no query string of a URL in any line (issue 14 item 4)', () => {
  const mirror = { ...IMG_DS_TEMPLATE, URL_ALLOW_NETS: '127.0.0.1/32' };
  const secretFree = (result: unknown) => expect(JSON.stringify(result)).not.toMatch(/token=abc|sig=xyz/);

  it('a presigned URL imported, and one that fails: the token is in neither answer nor log', async () => {
    const ok = await env.ds.dsAction(
      'CP',
      3211,
      payload(imageXml({ id: 3211, path: `${baseUrl}/disk.qcow2?token=abc&sig=xyz`, sizeMiB: 1 }), mirror),
    );
    expect(ok.reply).toBe(`CP SUCCESS 3211 ${VG}/lv-oneimg-3211 raw`);
    // The log names the source (what an operator needs), without its query.
    expect(ok.lines.join('\n')).toContain(`${baseUrl}/disk.qcow2?…`);
    secretFree(ok);
    const failed = await env.ds.dsAction(
      'CP',
      3212,
      payload(imageXml({ id: 3212, path: `${baseUrl}/missing.qcow2?token=abc&sig=xyz`, sizeMiB: 1 }), mirror),
    );
    expect(failed.reply).toMatch(/^CP FAILURE 3212 /);
    secretFree(failed);
    expect(await leftovers()).toEqual(['lv-oneimg-3211']);
  }, 600_000);
});
