// Real HTTP on 127.0.0.1 (the only network here) and real qemu-img on this machine; only name
// resolution is injected, to play a public-looking name that resolves to loopback.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeImage } from '@one-gfs2clvm/gfs2';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchUrl, MAX_REDIRECTS, type UrlFetchOptions } from '../src/url-fetch.js';
import { parseAllowNets } from '../src/url-policy.js';
import { probeUrl } from '../src/url-probe.js';

let server: Server;
let port: number;
let dir: string;
let seen: IncomingMessage[] = [];
const files: Record<string, string> = {};

/** Serves `files` with Range support (unless the path starts with /norange/), and some redirects. */
function handle(req: IncomingMessage, res: import('node:http').ServerResponse): void {
  seen.push(req);
  const url = req.url ?? '';
  if (url === '/to-metadata')
    return void res.writeHead(302, { location: 'http://169.254.169.254/latest/' }).end();
  if (url === '/to-other-loopback')
    return void res.writeHead(307, { location: `http://127.0.0.2:${port}/raw.img` }).end();
  if (url === '/to-file') return void res.writeHead(302, { location: 'file:///etc/shadow' }).end();
  if (url === '/moved') return void res.writeHead(301, { location: '/raw.img' }).end();
  if (url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
  const name = url.replace(/^\/norange\//, '/').slice(1);
  const file = files[name];
  if (!file) return void res.writeHead(404).end();
  const data = readFileSync(file);
  const range = /^bytes=([0-9]+)-([0-9]+)$/.exec(req.headers.range ?? '');
  if (range && !url.startsWith('/norange/')) {
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), data.length - 1);
    res.writeHead(206, {
      'content-length': String(end - start + 1),
      'content-range': `bytes ${start}-${end}/${data.length}`,
    });
    res.end(data.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { 'content-length': String(data.length) });
  res.end(data);
}

/** Makes the served image `name` in the scratch folder with `qemu-img create` (`options` before the file). */
function qemuImage(name: string, format: string, size: string, options: string[] = []): void {
  const file = join(dir, name);
  files[name] = file;
  execFileSync('qemu-img', ['create', '-q', '-f', format, ...options, file, size]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'one-image-url-'));
  files['raw.img'] = join(dir, 'raw.img');
  writeFileSync(files['raw.img'], Buffer.alloc(3 * 2 ** 20 + 512, 7));
  qemuImage('big.vmdk', 'vmdk', '2T');
  qemuImage('stream.vmdk', 'vmdk', '3G', ['-o', 'subformat=streamOptimized']);
  qemuImage('small.qcow2', 'qcow2', '5M');
  qemuImage('evil.qcow2', 'qcow2', '1M', ['-b', '/etc/shadow', '-F', 'raw']);
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
});

const loopbackOnly = parseAllowNets(['127.0.0.1/32']);
const opts = (over: Partial<UrlFetchOptions> = {}): UrlFetchOptions => ({ action: 'cp', allow: [], ...over });

describe('fetchUrl: no server-side request forgery (issue 14 item 1)', () => {
  it('refuses a loopback URL with one line, before connecting', async () => {
    await expect(fetchUrl(new URL(`http://127.0.0.1:${port}/raw.img`), opts())).rejects.toThrow(
      expect.objectContaining({
        code: 'FORBIDDEN',
        message: 'cp: URL host 127.0.0.1 is a loopback address; allow it with URL_ALLOW_NETS',
      }),
    );
    await expect(fetchUrl(new URL(`http://[::ffff:127.0.0.1]:${port}/raw.img`), opts())).rejects.toThrow(
      /^cp: URL host ::ffff:7f00:1 is a loopback address \(127\.0\.0\.1\); allow it with URL_ALLOW_NETS$/,
    );
    expect(seen).toEqual([]);
  });

  it('refuses a public-looking name that resolves to loopback, and a name with any refused address', async () => {
    const resolve = async () => ['127.0.0.1'];
    await expect(
      fetchUrl(new URL(`http://images.example.com:${port}/raw.img`), opts({ resolve })),
    ).rejects.toThrow(
      'cp: URL host images.example.com is 127.0.0.1, a loopback address; allow it with URL_ALLOW_NETS',
    );
    const mixed = async () => ['93.184.216.34', '10.0.0.7'];
    await expect(fetchUrl(new URL('http://images.example.com/x'), opts({ resolve: mixed }))).rejects.toThrow(
      'cp: URL host images.example.com is 10.0.0.7, a private address; allow it with URL_ALLOW_NETS',
    );
    expect(seen).toEqual([]);
  });

  it('connects to the address it checked: no second lookup, TLS name and Host header from the URL', async () => {
    let lookups = 0;
    // A second resolution would give an address nothing listens on (and the system resolver knows
    // no such name): the download works only if the vetted address is the one connected to.
    const resolve = async () => (lookups++ === 0 ? ['127.0.0.1'] : ['127.0.0.3']);
    const response = await fetchUrl(
      new URL(`http://images.example.com:${port}/raw.img`),
      opts({ resolve, allow: loopbackOnly }),
    );
    const body = Buffer.concat(await response.body.toArray());
    expect(body.length).toBe(3 * 2 ** 20 + 512);
    expect(lookups).toBe(1);
    expect(seen.map((r) => r.headers.host)).toEqual([`images.example.com:${port}`]);
  });

  it('checks every redirect again: to a refused address, to another loopback address, to file:', async () => {
    const url = (path: string) => new URL(`http://127.0.0.1:${port}${path}`);
    await expect(fetchUrl(url('/to-metadata'), opts({ allow: loopbackOnly }))).rejects.toThrow(
      'cp: URL host 169.254.169.254 is a link-local address; allow it with URL_ALLOW_NETS',
    );
    await expect(fetchUrl(url('/to-other-loopback'), opts({ allow: loopbackOnly }))).rejects.toThrow(
      'cp: URL host 127.0.0.2 is a loopback address; allow it with URL_ALLOW_NETS',
    );
    await expect(fetchUrl(url('/to-file'), opts({ allow: loopbackOnly }))).rejects.toThrow(
      'cp: redirect to file: refused (http, https)',
    );
    expect(seen.map((r) => r.url)).toEqual(['/to-metadata', '/to-other-loopback', '/to-file']);
  });

  it(`follows allowed redirects, at most ${MAX_REDIRECTS}`, async () => {
    const lines: string[] = [];
    const moved = await fetchUrl(
      new URL(`http://127.0.0.1:${port}/moved`),
      opts({ allow: loopbackOnly, log: (l) => lines.push(l) }),
    );
    expect(moved.url.pathname).toBe('/raw.img');
    expect(moved.length).toBe(3 * 2 ** 20 + 512);
    moved.body.destroy();
    expect(lines).toEqual([
      `http://127.0.0.1:${port}/moved: HTTP 301, redirected to http://127.0.0.1:${port}/raw.img`,
    ]);
    seen = [];
    await expect(
      fetchUrl(new URL(`http://127.0.0.1:${port}/loop`), opts({ allow: loopbackOnly })),
    ).rejects.toThrow(`download http://127.0.0.1:${port}/loop: more than ${MAX_REDIRECTS} redirects`);
    expect(seen.length).toBe(MAX_REDIRECTS + 1);
  });

  it('https with the pinned address: SNI is the URL name and the certificate is still verified', async () => {
    const key = join(dir, 'tls.key');
    const cert = join(dir, 'tls.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=images.example.com',
        '-addext',
        'subjectAltName=DNS:images.example.com',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    // The server name the client sends (SNI): the URL's host name, though the address was pinned.
    const names: string[] = [];
    const tls = createTlsServer(
      {
        key: readFileSync(key),
        cert: readFileSync(cert),
        SNICallback: (name, done) => {
          names.push(name);
          done(null, undefined);
        },
      },
      handle,
    );
    tls.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const tlsPort = (tls.address() as AddressInfo).port;
      const resolve = async () => ['127.0.0.1'];
      // A self-signed certificate: refused (verification is on), after a TCP connection to the vetted address.
      await expect(
        fetchUrl(
          new URL(`https://images.example.com:${tlsPort}/raw.img`),
          opts({ resolve, allow: loopbackOnly }),
        ),
      ).rejects.toThrow(/^download https:\/\/images\.example\.com:\d+\/raw\.img: self[- ]signed certificate/);
      expect(names).toEqual(['images.example.com']);
      expect(seen).toEqual([]);
    } finally {
      tls.close();
    }
  });

  it('a 404 is NOT_FOUND with one line', async () => {
    await expect(
      fetchUrl(new URL(`http://127.0.0.1:${port}/missing.img?token=secret`), opts({ allow: loopbackOnly })),
    ).rejects.toThrow(
      expect.objectContaining({
        code: 'NOT_FOUND',
        message: `download http://127.0.0.1:${port}/missing.img: HTTP 404`,
      }),
    );
  });
});

describe('probeUrl: the virtual size from head and tail (issue 14 item 2)', () => {
  const local = async (file: string) => {
    const runner = new LocalRunner();
    try {
      return await probeImage(runner, file);
    } finally {
      await runner.close();
    }
  };

  it.each([
    ['a sparse 2 TiB VMDK', 'big.vmdk', 2 ** 41],
    ['a stream-optimized VMDK (footer at the end)', 'stream.vmdk', 3 * 2 ** 30],
    ['a qcow2', 'small.qcow2', 5 * 2 ** 20],
    ['a raw file (its length)', 'raw.img', 3 * 2 ** 20 + 512],
  ])('%s over HTTP measures what the file on the front-end measures', async (_what, name, bytes) => {
    const file = files[name] as string;
    const probe = await probeUrl(new URL(`http://127.0.0.1:${port}/${name}`), opts({ allow: loopbackOnly }));
    const here = await local(file);
    expect(probe.virtualSize).toBe(here.virtualSize);
    expect(probe.virtualSize).toBe(bytes);
    expect(probe.format).toBe(here.format);
    // Two ranged requests at most (head, tail), never the whole file.
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(seen.every((r) => r.headers.range !== undefined)).toBe(true);
  });

  it('a server without Range support: the head of one plain GET', async () => {
    const probe = await probeUrl(
      new URL(`http://127.0.0.1:${port}/norange/small.qcow2`),
      opts({ allow: loopbackOnly }),
    );
    expect(probe).toMatchObject({ format: 'qcow2', virtualSize: 5 * 2 ** 20 });
    // cp's check before the download asks for ranges only (else the download itself decides).
    await expect(
      probeUrl(new URL(`http://127.0.0.1:${port}/norange/small.qcow2`), opts({ allow: loopbackOnly }), {
        rangesOnly: true,
      }),
    ).rejects.toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });

  it('refuses an unsafe image from its header, and a refused address before any request', async () => {
    await expect(
      probeUrl(new URL(`http://127.0.0.1:${port}/evil.qcow2`), opts({ action: 'stat', allow: loopbackOnly })),
    ).rejects.toThrow(/^unsafe image: backing file "\/etc\/shadow"/);
    seen = [];
    await expect(
      probeUrl(new URL(`http://127.0.0.1:${port}/big.vmdk`), opts({ action: 'stat' })),
    ).rejects.toThrow('stat: URL host 127.0.0.1 is a loopback address; allow it with URL_ALLOW_NETS');
    expect(seen).toEqual([]);
  });
});
