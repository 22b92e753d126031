#!/usr/bin/env node
// The private cluster link of the testbed: an Ethernet hub on a unix socket. Each emulated host's
// qemu connects with `-netdev stream` (frames as a 4-byte big-endian length, then the frame); every
// frame is copied to every other host, as a hub does. Plain JavaScript so it runs without a build.
// Usage: link-hub.mjs <socket path>. Ends on SIGTERM/SIGINT and removes its socket.
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';

const path = process.argv[2];
if (!path) {
  console.error('usage: link-hub.mjs <socket path>');
  process.exit(2);
}
rmSync(path, { force: true });

const ports = new Set();

const server = createServer((socket) => {
  ports.add(socket);
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = pending.readUInt32BE(0);
      if (pending.length < 4 + size) break;
      const frame = pending.subarray(0, 4 + size);
      pending = pending.subarray(4 + size);
      for (const other of ports) {
        // A hub drops rather than queues without bound when a port is slow (a paused host).
        if (other !== socket && other.writableLength < 4 * 1024 * 1024) other.write(frame);
      }
    }
  });
  const forget = () => ports.delete(socket);
  socket.on('close', forget);
  socket.on('error', forget);
});

server.listen(path);
const stop = () => {
  server.close();
  for (const socket of ports) socket.destroy();
  rmSync(path, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
