import { createServer } from 'node:net';
import { TestbedError } from './errors.js';

/** Resolves true when nothing listens on 127.0.0.1:`port` (we could bind it). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the kernel considers free right now (bound to port 0, then released). */
function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `count` distinct free loopback ports: `base`, `base+1` … when a base is given (a clear error if one
 * is taken), else ports the kernel hands out.
 */
export async function pickPorts(count: number, base?: number): Promise<number[]> {
  if (base !== undefined) {
    if (!Number.isInteger(base) || base < 1024 || base + count - 1 > 65535) {
      throw new TestbedError(
        'INVALID_ARGUMENT',
        `TESTBED_SSH_PORT_BASE must be from 1024 to ${65536 - count}`,
      );
    }
    const ports = Array.from({ length: count }, (_, i) => base + i);
    for (const port of ports) {
      if (!(await isPortFree(port))) {
        throw new TestbedError(
          'PORT_IN_USE',
          `loopback port ${port} is in use (another program listens there): free it or set TESTBED_SSH_PORT_BASE`,
        );
      }
    }
    return ports;
  }
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await ephemeralPort());
  return [...ports];
}
