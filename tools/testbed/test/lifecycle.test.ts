import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { attach, down, status, TestbedError, up } from '../src/index.js';
import { packageDir } from '../src/paths.js';
import { pickPorts } from '../src/ports.js';

// No qemu here: what happens before a host boots and when there is no cluster.
const dirs: string[] = [];
function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'testbed-unit-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return TestbedError.isInstance(error) ? error.code : `not a TestbedError: ${String(error)}`;
  }
  return undefined;
}

describe('without a cluster', () => {
  it('attach() fails with NOT_RUNNING and a hint', async () => {
    const dir = emptyDir();
    await expect(attach(dir)).rejects.toThrow(/no testbed is up in .*testbed up/);
    expect(await codeOf(attach(dir))).toBe('NOT_RUNNING');
  });

  it('status() says not up; down() is harmless', async () => {
    const dir = emptyDir();
    expect(await status(dir)).toEqual({ dir, up: false, hosts: [], gfs2Hosts: [] });
    await down(dir);
    await down(join(dir, 'never-made'));
  });

  it('up() refuses bad options and odd state folders before starting anything', async () => {
    expect(await codeOf(up({ hosts: 0 }, emptyDir()))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(up({}, '/tmp/with,comma'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(up({}, '/tmp/$(touch x)'))).toBe('INVALID_ARGUMENT');
  });

  it('up() names a missing program and how to install it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(up({}, emptyDir())).rejects.toThrow(
        /qemu-system-x86_64 is not installed: run `bash scripts\/setup.sh`/,
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('up() says when the disk is too small for the LUN', async () => {
    expect(await codeOf(up({ lunGiB: 1000 }, emptyDir()))).toBe('NO_SPACE');
  });
});

describe('pickPorts', () => {
  it('names a taken port', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (server.address() as { port: number }).port;
    try {
      await expect(pickPorts(2, port)).rejects.toThrow(`loopback port ${port} is in use`);
    } finally {
      server.close();
    }
  });

  it('hands out distinct free ports, and refuses privileged or overflowing bases', async () => {
    const ports = await pickPorts(4);
    expect(new Set(ports).size).toBe(4);
    expect(await codeOf(pickPorts(2, 22))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(pickPorts(2, 65535))).toBe('INVALID_ARGUMENT');
  });
});

describe('the cluster-link hub', () => {
  it('copies each length-prefixed frame to every other port, even when it arrives in pieces', async () => {
    const dir = emptyDir();
    const socketPath = join(dir, 'link.sock');
    const hub = spawn(process.execPath, [join(packageDir, 'bin', 'link-hub.mjs'), socketPath], {
      stdio: 'ignore',
    });
    try {
      let ports: Socket[] = [];
      for (let i = 0; i < 100 && ports.length === 0; i++) {
        await sleep(50);
        try {
          const first = createConnection(socketPath);
          await new Promise<void>((resolve, reject) => {
            first.once('connect', resolve);
            first.once('error', reject);
          });
          ports = [first];
        } catch {
          // not listening yet
        }
      }
      for (let i = 0; i < 2; i++) {
        const socket = createConnection(socketPath);
        await new Promise((resolve) => socket.once('connect', resolve));
        ports.push(socket);
      }
      const received = ports.map(() => [] as Buffer[]);
      for (const [i, s] of ports.entries()) s.on('data', (d) => received[i]?.push(d));
      await sleep(100);
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('hello')]);
      ports[0]?.write(frame.subarray(0, 3));
      await sleep(50);
      ports[0]?.write(frame.subarray(3));
      await sleep(300);
      expect(Buffer.concat(received[0] ?? [])).toEqual(Buffer.alloc(0));
      expect(Buffer.concat(received[1] ?? [])).toEqual(frame);
      expect(Buffer.concat(received[2] ?? [])).toEqual(frame);
      for (const s of ports) s.destroy();
    } finally {
      hub.kill('SIGTERM');
      await new Promise((resolve) => hub.once('exit', resolve));
    }
  });
});
