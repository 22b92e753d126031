import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SshRunner } from '../src/index.js';

// An in-process ssh2 server that answers every command at once (output, exit status, EOF and
// close in one burst), the way a fast command on a busy host does. It pins down protocol-level
// behaviour a real sshd shows only now and then.
let server: ssh2.Server;
let dir: string;
let runner: SshRunner;
const connections: ssh2.Connection[] = [];

/**
 * An ed25519 key pair ssh2 itself can read back: about 1 in 256 of those its
 * `generateKeyPairSync` makes has a leading zero byte stripped from the public key, and the key
 * is then refused ("Malformed OpenSSH private key", mscdex/ssh2#1513, #1390, open in 1.17.0).
 */
function readableKeyPair(): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (
      !(ssh2.utils.parseKey(pair.private) instanceof Error) &&
      !(ssh2.utils.parseKey(pair.public) instanceof Error)
    )
      return pair;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssh-remote-ssh2-'));
  const hostKey = readableKeyPair();
  const userKey = readableKeyPair();
  writeFileSync(join(dir, 'id'), userKey.private, { mode: 0o600 });
  server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    connections.push(client);
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (acceptExec) => {
          // One socket write for the exec reply and the whole answer (test-only look at ssh2's socket).
          const socket = (client as unknown as { _sock: import('node:net').Socket })._sock;
          socket.cork();
          const stream = acceptExec();
          stream.stderr.write('ssh-remote-pid=4242\n');
          stream.write('fast\n');
          stream.exit(3);
          stream.end();
          process.nextTick(() => socket.uncork());
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey.public}\n`);
  runner = new SshRunner({
    host: 'fake-host',
    hostname: '127.0.0.1',
    port,
    user: 'anyone',
    identityFiles: [join(dir, 'id')],
    knownHostsFile: join(dir, 'known_hosts'),
    sshConfigFile: join(dir, 'none'),
  });
});

afterAll(async () => {
  // Keys first: nothing may stay behind even if closing hangs.
  if (dir) rmSync(dir, { recursive: true, force: true });
  await runner?.close();
  for (const connection of connections) connection.end();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

test('an exit status that arrives together with the channel confirmation is not lost', async () => {
  const results = [];
  for (let i = 0; i < 100; i++) results.push(await runner.run(['anything'], { reject: false }));
  expect(results.map((r) => r.exitCode)).toEqual(Array(100).fill(3));
  expect(results.every((r) => r.stdout === 'fast\n' && r.stderr === '')).toBe(true);
});
