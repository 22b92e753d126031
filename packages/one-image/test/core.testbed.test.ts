import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type FrontEnd, IMG_DS, MiB, SYS_DS, setUpFrontEnd, sh, VG } from '@one-gfs2clvm/one-harness/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  act,
  GFS2_DIR,
  IMG_DS_TEMPLATE,
  type ImageSpec,
  imageXml,
  lvSums,
  lvWhere,
  payload,
  STAGING,
  sha256File,
  upload,
  userXml,
  vmXml,
} from './image-fixtures.js';

// Ids of this suite (common brief: one-image core 300–399): images 300–329, VMs 350–359; the URL
// and size cases of issue 14: images 3300–3309.
const IMAGE_LVS = [
  ...Array.from({ length: 30 }, (_, i) => `lv-oneimg-${300 + i}`),
  ...Array.from({ length: 10 }, (_, i) => `lv-oneimg-${3300 + i}`),
];
const VM_LV = 'lv-one-350-0';

let env: FrontEnd;
let server: Server;
let baseUrl: string;
const files: Record<string, { path: string; sha: string; bytes: number }> = {};
/** Every request the test server got: path and whether it asked for a range. */
let requests: { url: string; range: boolean }[] = [];

/** The image datastore of a loopback mirror: the test server on 127.0.0.1 is allow-listed. */
const MIRROR_TEMPLATE = { ...IMG_DS_TEMPLATE, URL_ALLOW_NETS: '127.0.0.1/32' };
/** CP of image `id` (`spec` but its id) from the datastore of the loopback mirror. */
const cpMirror = (id: number, spec: Omit<ImageSpec, 'id'>) =>
  env.ds.dsAction('CP', id, payload(imageXml({ id, ...spec }), MIRROR_TEMPLATE));

/** CP of image `id` (`spec` but its id) from the front-end, as oned sends it. */
const cp = (id: number, spec: Omit<ImageSpec, 'id'>) => act(env, 'CP', id, imageXml({ id, ...spec }));

/** Serves `file` whole or, for `Range: bytes=a-b`, that part (206), streamed. */
function serveFile(req: IncomingMessage, res: ServerResponse, file: string): void {
  const size = statSync(file).size;
  const range = /^bytes=([0-9]+)-([0-9]+)$/.exec(req.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), size - 1);
    res.writeHead(206, {
      'content-length': String(end - start + 1),
      'content-range': `bytes ${start}-${end}/${size}`,
    });
    createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { 'content-length': String(size) });
  createReadStream(file).pipe(res);
}

const qemuImg = (...args: string[]) =>
  execFileSync('qemu-img', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** A raw file of `mib` MiB + 4 KiB of random data, and its qcow2 conversion. */
async function makeImage(name: string, bytes: number): Promise<void> {
  const raw = join(env.dir, `${name}.raw`);
  await writeFile(raw, randomBytes(bytes));
  const qcow2 = join(env.dir, `${name}.qcow2`);
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2);
  files[name] = { path: raw, sha: await sha256File(raw), bytes };
  files[`${name}-qcow2`] = { path: qcow2, sha: files[name].sha, bytes };
}

async function noLeftovers(id: number): Promise<void> {
  expect(await lvWhere(env, `lv-oneimg-${id}`)).toEqual({ exists: false, activeOn: [] });
  await noStaged(id);
}

async function noStaged(id: number): Promise<void> {
  const staged = await sh(env.root('node1'), ['sh', '-c', 'ls -A "$1" 2>/dev/null || true', 'ls', STAGING]);
  expect(staged.split('\n').filter((f) => f.startsWith(`image-${id}-`))).toEqual([]);
}

/** The new image's data, read on node2 (the other host than most work runs on for even ids). */
async function expectImage(id: number, sha: string, bytes: number): Promise<void> {
  expect(await lvWhere(env, `lv-oneimg-${id}`)).toEqual({ exists: true, activeOn: [] });
  const sums = await lvSums(env, 'node2', `lv-oneimg-${id}`, bytes);
  expect(sums.head).toBe(sha);
  expect(sums.tailZero).toBe(true);
  expect(sums.sizeBytes).toBe(Math.ceil(bytes / (4 * MiB)) * 4 * MiB);
}

beforeAll(async () => {
  // Root over SSH with plain LVM, as these suites always ran (the one-tm suites run as oneadmin).
  env = await setUpFrontEnd({ asRoot: true });
  const n1 = env.root('node1');
  await cleanUp();
  await sh(n1, ['mkdir', '-p', GFS2_DIR]);
  await makeImage('ttylinux', 5 * MiB + 4096);
  await makeImage('os', 3 * MiB);
  qemuImg('create', '-f', 'qcow2', join(env.dir, 'huge.qcow2'), '64G');
  qemuImg('create', '-f', 'qcow2', '-b', '/etc/shadow', '-F', 'raw', join(env.dir, 'evil.qcow2'), '1M');
  await upload(n1, files.ttylinux?.path as string, `${GFS2_DIR}/ttylinux.img`);
  await upload(n1, join(env.dir, 'evil.qcow2'), `${GFS2_DIR}/evil.qcow2`);
  // Users: 5 (group 100) owns the new images of the ownership tests; 0 is oneadmin.
  await env.setUser(0, userXml(0, 0, [0]));
  await env.setUser(5, userXml(5, 100, [100]));
  qemuImg('create', '-f', 'vmdk', join(env.dir, 'big.vmdk'), '2T');
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range !== undefined });
    // A redirect from the mirror to the cloud's metadata service.
    if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      return;
    }
    if (req.url === '/big.vmdk') return serveFile(req, res, join(env.dir, 'big.vmdk'));
    // Changes its answer: the 3 MiB qcow2 to Range requests (stat's and cp's probes), a 64 GiB one
    // to the download.
    if (req.url === '/changing.qcow2')
      return serveFile(
        req,
        res,
        req.headers.range ? (files['os-qcow2']?.path ?? '') : join(env.dir, 'huge.qcow2'),
      );
    if (req.url === '/huge-length.img') {
      // 1 TiB announced, nothing sent: the driver must refuse on the header alone.
      res.writeHead(200, { 'content-length': String(2 ** 40) });
      res.flushHeaders();
      return;
    }
    const file =
      req.url === '/os.qcow2' ? files['os-qcow2'] : req.url?.startsWith('/broken') ? files.os : undefined;
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const data = readFileSync(file.path);
    res.writeHead(200, { 'content-length': String(data.length) });
    if (req.url?.startsWith('/broken')) {
      // Half the body, then the connection is cut.
      res.write(data.subarray(0, data.length >> 1), () => res.socket?.destroy());
      return;
    }
    res.end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 900_000);

async function cleanUp(): Promise<void> {
  const n1 = env.root('node1');
  const lenient = { reject: false, timeoutMs: 120_000 };
  const names = [...IMAGE_LVS, VM_LV];
  for (const host of ['node2', 'node1'])
    await env.root(host).run(['lvchange', '-an', ...names.map((n) => `${VG}/${n}`)], lenient);
  const existing = await sh(n1, ['lvs', '--noheadings', '-o', 'lv_name', VG]);
  const ours = existing
    .split('\n')
    .map((l) => l.trim())
    .filter((n) => names.includes(n));
  if (ours.length > 0) await n1.run(['lvremove', '-y', ...ours.map((n) => `${VG}/${n}`)], lenient);
  await n1.run(['rm', '-rf', GFS2_DIR], lenient);
  await n1.run(
    ['sh', '-c', 'rm -f "$1"/image-3[0-9][0-9]-* "$1"/image-33[0-9][0-9]-*', 'rm', STAGING],
    lenient,
  );
}

afterAll(async () => {
  server?.close();
  if (!env) return;
  try {
    await cleanUp();
    // Nothing of this suite is left: no LV, no staged file, no test folder.
    const lvs = await sh(env.root('node1'), ['lvs', '--noheadings', '-o', 'lv_name', VG]);
    expect(
      lvs
        .split('\n')
        .map((l) => l.trim())
        .filter((n) => [...IMAGE_LVS, VM_LV].includes(n)),
    ).toEqual([]);
  } finally {
    await env.cluster.close();
    // The front-end side too: driver config, fake oned, the private copy of the built scripts.
    await rm(env.dir, { recursive: true, force: true });
  }
}, 900_000);

describe('cp', () => {
  it('imports a raw file from the GFS2 mount, read on the host (2012: import ttylinux from file)', async () => {
    // A leftover LV of that name (an interrupted run), full of 0xff: replaced, nothing of it left.
    const n1 = env.root('node1');
    await n1.run(['lvcreate', '-y', '-aey', '-L', '8m', '-n', 'lv-oneimg-300', VG], { timeoutMs: 300_000 });
    await sh(n1, [
      'sh',
      '-c',
      'tr "\\000" "\\377" < /dev/zero | dd of="$1" bs=1M count=8 iflag=fullblock oflag=direct status=none',
      'fill',
      `/dev/${VG}/lv-oneimg-300`,
    ]);
    await n1.run(['lvchange', '-an', `${VG}/lv-oneimg-300`], { timeoutMs: 300_000 });
    const r = await cp(300, { path: `${GFS2_DIR}/ttylinux.img`, sizeMiB: 6 });
    expect(r.reply, r.lines.join('\n')).toBe(`CP SUCCESS 300 ${VG}/lv-oneimg-300 raw`);
    const f = files.ttylinux as { sha: string; bytes: number };
    await expectImage(300, f.sha, f.bytes);
  });

  it('records the allocation map of a sparse file as a tag on the image LV (clones copy only its data)', async () => {
    const n1 = env.root('node1');
    const file = `${GFS2_DIR}/sparse.img`;
    // 24 MiB, 2 MiB of data at 9 MiB: with 4-MiB chunks only chunk 2 holds data.
    await sh(n1, ['truncate', '-s', '24M', file]);
    await sh(n1, [
      'dd',
      'if=/dev/urandom',
      `of=${file}`,
      'bs=1M',
      'seek=9',
      'count=2',
      'conv=notrunc',
      'status=none',
    ]);
    const sha = (await sh(n1, ['sha256sum', file])).split(' ')[0] as string;
    const r = await cp(321, { path: file, sizeMiB: 24 });
    expect(r.reply, r.lines.join('\n')).toBe(`CP SUCCESS 321 ${VG}/lv-oneimg-321 raw`);
    expect(r.lines.join('\n')).toMatch(/allocation map of lv-oneimg-321: 4 of 24 MiB may hold data/);
    const tags = await sh(n1, ['lvs', '--noheadings', '-o', 'lv_tags', `${VG}/lv-oneimg-321`]);
    // one_map.<LV MiB>.<chunk MiB>.<bitmap>: bit 2 set → byte 0x04 → base64url "BA".
    expect(tags.trim()).toBe('one_map.24.4.BA');
    await expectImage(321, sha, 24 * MiB);
  });

  it('imports a qcow2 file from the front-end, streamed over SSH, converted to raw', async () => {
    const f = files['os-qcow2'] as { path: string; sha: string; bytes: number };
    const r = await cp(301, { path: f.path, sizeMiB: 3 });
    expect(r.reply).toBe(`CP SUCCESS 301 ${VG}/lv-oneimg-301 raw`);
    await expectImage(301, f.sha, f.bytes);
    await noStaged(301);
  });

  it('imports a raw file from the front-end, streamed straight into the LV (no staged copy)', async () => {
    const f = files.os as { path: string; sha: string; bytes: number };
    const r = await cp(314, { path: f.path, sizeMiB: 3 });
    expect(r.reply).toBe(`CP SUCCESS 314 ${VG}/lv-oneimg-314 raw`);
    await expectImage(314, f.sha, f.bytes);
    await noStaged(314);
  });

  it('downloads a URL of an allow-listed loopback mirror on the front-end and streams it to the host', async () => {
    const f = files['os-qcow2'] as { sha: string; bytes: number };
    const r = await cpMirror(302, { path: `${baseUrl}/os.qcow2`, sizeMiB: 3 });
    expect(r.reply).toBe(`CP SUCCESS 302 ${VG}/lv-oneimg-302 raw`);
    await expectImage(302, f.sha, f.bytes);
  });

  it('a URL that fails half-way leaves no LV and no staged file', async () => {
    const r = await cpMirror(303, { path: `${baseUrl}/broken.img`, sizeMiB: 3 });
    expect(r.result).toBe('FAILURE');
    expect(r.reply).toMatch(/^CP FAILURE 303 download of http:\/\/127\.0\.0\.1:\d+\/broken\.img/);
    await noLeftovers(303);
  });

  it('a URL whose Content-Length exceeds the free space on GFS2: refused before a byte is staged', async () => {
    const r = await cpMirror(315, { path: `${baseUrl}/huge-length.img`, sizeMiB: 3 });
    expect(r.reply).toMatch(
      /^CP FAILURE 315 download of http:\/\/127\.0\.0\.1:\d+\/huge-length\.img: 1048576\.0 MiB do not fit in the \d+\.\d MiB free for staging on \/var\/lib\/one\/datastores\/\.gfs2clvm-import \(node\d\)$/,
    );
    await noLeftovers(315);
  });

  it('a 404 URL fails with one line', async () => {
    const r = await cpMirror(303, { path: `${baseUrl}/missing.img`, sizeMiB: 3 });
    expect(r.reply).toMatch(/^CP FAILURE 303 download http:\/\/127\.0\.0\.1:\d+\/missing\.img: HTTP 404$/);
    await noLeftovers(303);
  });

  it.each([
    ['front-end', () => join(env.dir, 'evil.qcow2')],
    ['GFS2', () => `${GFS2_DIR}/evil.qcow2`],
  ])('refuses a qcow2 whose backing file is /etc/shadow (%s file)', async (_where, path) => {
    const r = await cp(304, { path: path() });
    expect(r.reply).toMatch(/^CP FAILURE 304 unsafe image: backing file "\/etc\/shadow"/);
    await noLeftovers(304);
  });

  it('refuses a GFS2 path outside SAFE_DIRS (a VM directory) and a restricted front-end path', async () => {
    const r = await cp(304, { path: `/var/lib/one/datastores/${SYS_DS}/7/disk.0` });
    expect(r.reply).toMatch(/^CP FAILURE 304 .*(VM 7|restricted)/);
    // A symlink in a safe folder leading out of the GFS2 mount.
    await sh(env.root('node1'), ['ln', '-sfn', '/etc/shadow', `${GFS2_DIR}/shadow.img`]);
    const link = await cp(304, { path: `${GFS2_DIR}/shadow.img` });
    expect(link.reply).toBe(
      `CP FAILURE 304 ${GFS2_DIR}/shadow.img resolves to /etc/shadow on node1, outside /var/lib/one/datastores`,
    );
    // A folder (and so anything that is not a regular file after symlinks) is refused.
    const dir = await cp(304, { path: GFS2_DIR });
    expect(dir.reply).toBe(`CP FAILURE 304 ${GFS2_DIR} is not a regular file on node1`);
    const fe = await cp(304, { path: '/etc/one/oned.conf' });
    expect(fe.result).toBe('FAILURE');
    await noLeftovers(304);
  });

  it("VG full: an image larger than the VG fails with LVM's line and leaves nothing", async () => {
    const r = await cp(312, { path: join(env.dir, 'huge.qcow2'), sizeMiB: 65536 });
    expect(r.reply).toMatch(/^CP FAILURE 312 .*insufficient free space/);
    await noLeftovers(312);
  });
});

describe('URLs and sizes quotas can trust (issue 14 items 1-2)', () => {
  const stat = async (path: string, template: Record<string, string> = MIRROR_TEMPLATE) =>
    (await env.ds.dsAction('STAT', 0, payload(`<IMAGE><PATH>${path}</PATH></IMAGE>`, template))).reply;

  beforeAll(async () => {
    await upload(env.root('node1'), join(env.dir, 'huge.qcow2'), `${GFS2_DIR}/huge.qcow2`);
  });

  it('a loopback URL is refused without URL_ALLOW_NETS, before any request (cp and stat)', async () => {
    requests = [];
    const r = await cp(3300, { path: `${baseUrl}/os.qcow2`, sizeMiB: 3 });
    expect(r.reply).toBe(
      'CP FAILURE 3300 cp: URL host 127.0.0.1 is a loopback address; allow it with URL_ALLOW_NETS',
    );
    expect(await stat(`${baseUrl}/os.qcow2`, IMG_DS_TEMPLATE)).toBe(
      'STAT FAILURE 0 stat: URL host 127.0.0.1 is a loopback address; allow it with URL_ALLOW_NETS',
    );
    expect(requests).toEqual([]);
    await noLeftovers(3300);
  });

  it('a redirect from the allow-listed mirror to a refused address is refused', async () => {
    requests = [];
    const r = await cpMirror(3301, { path: `${baseUrl}/to-metadata`, sizeMiB: 3 });
    expect(r.reply).toBe(
      'CP FAILURE 3301 cp: URL host 169.254.169.254 is a link-local address; allow it with URL_ALLOW_NETS',
    );
    expect(requests.map((q) => q.url)).toEqual(['/to-metadata']);
    await noLeftovers(3301);
  });

  it('a sparse 2 TiB VMDK over HTTP and the same file on the front-end: the same stat (its virtual size)', async () => {
    requests = [];
    expect(await stat(`${baseUrl}/big.vmdk`)).toBe(`STAT SUCCESS 0 ${2 * 1024 * 1024}`);
    expect(await stat(join(env.dir, 'big.vmdk'))).toBe(`STAT SUCCESS 0 ${2 * 1024 * 1024}`);
    // Head and tail only, never the whole file.
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((q) => q.range)).toBe(true);
  });

  it('cp against a smaller SIZE is refused with nothing left: URL, front-end file, GFS2 file', async () => {
    requests = [];
    const url = await cpMirror(3302, { path: `${baseUrl}/big.vmdk`, sizeMiB: 1024 });
    expect(url.reply).toBe(
      `CP FAILURE 3302 cp: virtual size 2097152 MiB exceeds the image's SIZE of 1024 MiB (what stat measured): ${baseUrl}/big.vmdk`,
    );
    // Refused on the header: not downloaded.
    expect(requests.every((q) => q.range)).toBe(true);
    const fe = await cp(3303, { path: join(env.dir, 'big.vmdk'), sizeMiB: 1024 });
    expect(fe.reply).toBe(
      `CP FAILURE 3303 cp: virtual size 2097152 MiB exceeds the image's SIZE of 1024 MiB (what stat measured): ${join(env.dir, 'big.vmdk')}`,
    );
    const gfs2 = await cp(3304, { path: `${GFS2_DIR}/huge.qcow2`, sizeMiB: 1024 });
    expect(gfs2.reply).toBe(
      `CP FAILURE 3304 cp: virtual size 65536 MiB exceeds the image's SIZE of 1024 MiB (what stat measured): ${GFS2_DIR}/huge.qcow2`,
    );
    for (const id of [3302, 3303, 3304]) await noLeftovers(id);
  });

  it('the server changes its answer between stat and cp: cp probes what it downloaded and refuses', async () => {
    expect(await stat(`${baseUrl}/changing.qcow2`)).toBe('STAT SUCCESS 0 3');
    requests = [];
    const r = await cpMirror(3305, { path: `${baseUrl}/changing.qcow2`, sizeMiB: 3 });
    expect(r.reply).toBe(
      `CP FAILURE 3305 cp: virtual size 65536 MiB exceeds the image's SIZE of 3 MiB (what stat measured): ${baseUrl}/changing.qcow2`,
    );
    // The header probe agreed with stat; the download (one plain GET) was the 64 GiB image.
    expect(requests.filter((q) => !q.range).map((q) => q.url)).toEqual(['/changing.qcow2']);
    await noLeftovers(3305);
  });
});

describe('cp from lvm:// and vol://', () => {
  beforeAll(async () => {
    // VM 350 is SUSPENDED on node1: its disk LV stays active there, exclusively.
    const n1 = env.root('node1');
    await sh(n1, ['lvcreate', '-n', VM_LV, '-L', '4m', '-aey', '-y', '--setautoactivation', 'n', VG]);
    await sh(n1, [
      'dd',
      'if=/dev/urandom',
      `of=/dev/${VG}/${VM_LV}`,
      'bs=1M',
      'count=4',
      'oflag=direct',
      'status=none',
    ]);
    files.vmdisk = {
      path: '',
      sha: (await sh(n1, ['sh', '-c', 'sha256sum < "$1"', 's', `/dev/${VG}/${VM_LV}`])).split(
        ' ',
      )[0] as string,
      bytes: 4 * MiB,
    };
    const vm = { uid: 7, gid: 101, permissions: 'um-------', host: 'node1', disks: [{ id: 0 }] };
    await env.oned.setVm(350, vmXml({ id: 350, state: 5, ...vm }));
    await env.oned.setVm(351, vmXml({ id: 351, state: 3, lcmState: 3, ...vm }));
    await env.oned.setVm(352, vmXml({ id: 352, state: 3, lcmState: 3, ...vm }));
    await env.oned.setImage(
      300,
      imageXml({ id: 300, uid: 7, gid: 101, source: `${VG}/lv-oneimg-300`, state: 1 }),
    );
    await env.oned.setImage(
      320,
      imageXml({ id: 320, persistent: true, vms: [352], source: `${VG}/lv-oneimg-300`, state: 8 }),
    );
  });

  it('copies the disk of a SUSPENDED VM (2012: snapshot of a suspended machine), source left active', async () => {
    const r = await cp(307, { path: 'lvm://350/0' });
    expect(r.reply).toBe(`CP SUCCESS 307 ${VG}/lv-oneimg-307 raw`);
    const f = files.vmdisk as { sha: string; bytes: number };
    await expectImage(307, f.sha, f.bytes);
    expect(await lvWhere(env, VM_LV)).toEqual({ exists: true, activeOn: ['node1'] });
  });

  it('snapshot:// is the same; a running VM is refused', async () => {
    const r = await cp(308, { path: 'snapshot://351/0' });
    expect(r.reply).toBe(
      'CP FAILURE 308 cp from lvm://351/0: VM 351 is running: suspend, power off or stop it first',
    );
    await noLeftovers(308);
  });

  it("ownership: user 5 may not copy VM 350's disk nor image 300 (owner 7, not shared)", async () => {
    const vm = await cp(308, { uid: 5, gid: 100, path: 'lvm://350/0' });
    expect(vm.reply).toBe('CP FAILURE 308 user 5 may not use VM 350 (owner 7, group 101)');
    const img = await cp(308, { uid: 5, gid: 100, path: 'vol://300' });
    expect(img.reply).toBe('CP FAILURE 308 user 5 may not use image 300 (owner 7, group 101)');
    await noLeftovers(308);
  });

  it('copies another image (2012: new OS image from another image)', async () => {
    const r = await cp(309, { path: 'vol://300' });
    expect(r.reply).toBe(`CP SUCCESS 309 ${VG}/lv-oneimg-309 raw`);
    const f = files.ttylinux as { sha: string; bytes: number };
    await expectImage(309, f.sha, f.bytes);
    expect((await lvWhere(env, 'lv-oneimg-300')).activeOn).toEqual([]);
  });

  it('refuses a persistent image in use by a running VM', async () => {
    const r = await cp(310, { path: 'image://320' });
    expect(r.reply).toBe(
      'CP FAILURE 310 cp from vol://320: persistent image 320 is in use by running VM 352',
    );
    await noLeftovers(310);
  });
});

describe('mkfs, clone, stat, monitor, rm', () => {
  it('mkfs makes a datablock of SIZE MiB with its file system (2012: create new datablock volume)', async () => {
    const r = await act(
      env,
      'MKFS',
      305,
      imageXml({ id: 305, type: 2, sizeMiB: 8, fs: 'ext4', format: 'raw' }),
    );
    expect(r.reply).toBe(`MKFS SUCCESS 305 ${VG}/lv-oneimg-305`);
    expect(await lvWhere(env, 'lv-oneimg-305')).toEqual({ exists: true, activeOn: [] });
    const n2 = env.root('node2');
    await sh(n2, ['lvchange', '-asy', `${VG}/lv-oneimg-305`]);
    try {
      expect(await sh(n2, ['blkid', '-o', 'value', '-s', 'TYPE', `/dev/${VG}/lv-oneimg-305`])).toBe('ext4');
      expect(await sh(n2, ['blockdev', '--getsize64', `/dev/${VG}/lv-oneimg-305`])).toBe(String(8 * MiB));
    } finally {
      await sh(n2, ['lvchange', '-an', `${VG}/lv-oneimg-305`]);
    }
  });

  it('mkfs with FORMAT save_as only reserves the name (2012: saveas)', async () => {
    const r = await act(env, 'MKFS', 306, imageXml({ id: 306, sizeMiB: 4, format: 'save_as' }));
    expect(r.reply).toBe(`MKFS SUCCESS 306 ${VG}/lv-oneimg-306`);
    expect(await lvWhere(env, 'lv-oneimg-306')).toEqual({ exists: false, activeOn: [] });
  });

  it('mkfs refuses qcow2 and an unsupported FS with one line', async () => {
    const q = await act(env, 'MKFS', 306, imageXml({ id: 306, sizeMiB: 4, format: 'qcow2' }));
    expect(q.reply).toBe('MKFS FAILURE 306 mkfs: FORMAT "qcow2" not supported (gfs2clvm images are raw)');
    const fs = await act(env, 'MKFS', 306, imageXml({ id: 306, sizeMiB: 4, fs: 'ntfs' }));
    expect(fs.reply).toMatch(/^MKFS FAILURE 306 mkfs: FS "ntfs" not supported/);
  });

  it('clone copies an image LV into a new one', async () => {
    const r = await act(
      env,
      'CLONE',
      311,
      imageXml({ id: 311, cloningId: 300, path: `${VG}/lv-oneimg-300` }),
    );
    expect(r.reply).toBe(`CLONE SUCCESS 311 ${VG}/lv-oneimg-311 raw`);
    const f = files.ttylinux as { sha: string; bytes: number };
    await expectImage(311, f.sha, f.bytes);
  });

  it('stat gives MiB of a GFS2 file, a URL, a front-end qcow2, a VM disk and an image', async () => {
    const stat = async (path: string) =>
      (await env.ds.dsAction('STAT', 0, payload(`<IMAGE><PATH>${path}</PATH></IMAGE>`, MIRROR_TEMPLATE)))
        .reply;
    expect(await stat(`${GFS2_DIR}/ttylinux.img`)).toBe('STAT SUCCESS 0 6');
    expect(await stat(`${baseUrl}/os.qcow2`)).toBe('STAT SUCCESS 0 3');
    expect(await stat(join(env.dir, 'huge.qcow2'))).toBe(`STAT SUCCESS 0 ${64 * 1024}`);
    expect(await stat('lvm://350/0')).toBe('STAT SUCCESS 0 4');
    expect(await stat('vol://300')).toBe('STAT SUCCESS 0 8');
  });

  it('monitor gives VG usage one per line, also with the ≤ 6.6 argv payload', async () => {
    for (const driver of [env.ds, env.dsArgv]) {
      const r = await driver.dsAction('MONITOR', IMG_DS, payload(undefined));
      expect(r.result).toBe('SUCCESS');
      const text = Buffer.from(r.info ?? '', 'base64').toString();
      expect(text).toMatch(/^USED_MB=\d+\nFREE_MB=\d+\nTOTAL_MB=\d+\n$/);
      const [used, free, total] = [...text.matchAll(/=(\d+)/g)].map((m) => Number(m[1]));
      expect((used ?? 0) + (free ?? 0)).toBe(total);
      // The VG's real size, read on the host (the CI cluster's LUN is not the size of a dev cluster's).
      const vgBytes = await sh(env.root('node1'), [
        'vgs',
        '--noheadings',
        '--nosuffix',
        '--units',
        'b',
        '-o',
        'vg_size',
        VG,
      ]);
      expect(total).toBe(Math.floor(Number(vgBytes) / 2 ** 20));
    }
  });

  it('rm wipes and removes the image LVs; a missing one and an empty SOURCE are success', async () => {
    // Wiped once (300, the default ZERO_ON_DELETE); the others with ZERO_ON_DELETE=NO: the suite stays lean.
    for (const id of [300, 301, 302, 305, 307, 309, 311, 314]) {
      const xml = imageXml({ id, source: `${VG}/lv-oneimg-${id}` });
      const r =
        id === 300
          ? await act(env, 'RM', id, xml)
          : await env.ds.dsAction('RM', id, payload(xml, { ...IMG_DS_TEMPLATE, ZERO_ON_DELETE: 'NO' }));
      expect(r.reply).toBe(`RM SUCCESS ${id} -`);
      await noLeftovers(id);
    }
    expect((await act(env, 'RM', 301, imageXml({ id: 301, source: `${VG}/lv-oneimg-301` }))).reply).toBe(
      'RM SUCCESS 301 -',
    );
    expect((await act(env, 'RM', 303, imageXml({ id: 303 }))).reply).toBe('RM SUCCESS 303 -');
  });

  it("rm refuses a SOURCE that is not the image's own LV (a VM disk stays)", async () => {
    const r = await act(env, 'RM', 313, imageXml({ id: 313, source: `${VG}/${VM_LV}` }));
    expect(r.reply).toBe(`RM FAILURE 313 rm: SOURCE ${VG}/${VM_LV} is not the LV of image 313`);
    expect((await lvWhere(env, VM_LV)).exists).toBe(true);
  });

  it('unsupported actions fail with one line', async () => {
    for (const action of ['SNAP_DELETE', 'SNAP_REVERT', 'SNAP_FLATTEN', 'RESTORE', 'INCREMENT_FLATTEN']) {
      const r = await act(env, action, 313, imageXml({ id: 313 }));
      expect(r.reply).toMatch(
        new RegExp(`^${action} FAILURE 313 ${action.toLowerCase()}: .* not supported by gfs2clvm`),
      );
    }
  });
});
