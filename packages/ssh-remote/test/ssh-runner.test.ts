import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { receiveFromRemote, SshRunner, sendToRemote } from '../src/index.js';
import { startTestSshd, type TestSshd } from '../src/testing.js';
import { failure, uniqueMarker, waitUntilGone, waitUntilRunning } from './helpers.js';
import { HOSTILE_ARGS } from './hostile-args.js';

let sshd: TestSshd;
let runner: SshRunner;
let scratch: string;

beforeAll(async () => {
  sshd = await startTestSshd();
  runner = new SshRunner(sshd.runnerOptions('node1'));
  scratch = mkdtempSync(join(tmpdir(), 'ssh-remote-runner-'));
});

afterAll(async () => {
  await runner?.close();
  await sshd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

/** `count` MiB of random bytes, hashed on the way out. */
function randomSource(count: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent === count) return void this.push(null);
      sent++;
      const chunk = randomBytes(MiB);
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

function hashingSink(): { stream: Writable; digest: () => string; bytes: () => number } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback();
    },
  });
  return { stream, digest: () => hash.digest('hex'), bytes: () => bytes };
}

describe('commands', () => {
  test("the plain OpenSSH client argv (benchmarks' baseline, the testbed's `ssh`) reaches the server", () => {
    const [ssh = 'ssh', ...args] = sshd.sshArgv();
    const out = execFileSync(ssh, [...args, 'echo', 'reached'], { encoding: 'utf8', timeout: 30_000 });
    expect(out).toBe('reached\n');
  });

  test('stdout, stderr, exit code 0, LC_ALL=C and the host alias', async () => {
    const result = await runner.run(['sh', '-c', 'echo "$LC_ALL"; echo warn >&2']);
    expect(result).toMatchObject({
      host: 'node1',
      argv: ['sh', '-c', 'echo "$LC_ALL"; echo warn >&2'],
      exitCode: 0,
      signal: null,
      stdout: 'C\n',
      stderr: 'warn\n',
      stdoutBytes: 2,
    });
    expect(result.durationMs).toBeGreaterThan(0);
  });

  test('a locale-dependent command speaks C', async () => {
    const result = await runner.run(['sh', '-c', 'ls /nonexistent-dir-x 2>&1 || true']);
    expect(result.stdout).toMatch(/No such file or directory/);
  });

  test.each([1, 2, 42, 255])('exit code %i rejects with EXIT carrying code and stderr', async (code) => {
    const err = await failure(runner.run(['sh', '-c', `echo "failed with ${code}" >&2; exit ${code}`]));
    expect(err).toMatchObject({ code: 'EXIT', exitCode: code, signal: null, host: 'node1', timedOut: false });
    expect(err.stderrTail).toBe(`failed with ${code}`);
    expect(err.message).toBe(
      `node1: sh -c "echo \\"failed with ${code}\\" >&2; exit ${code}" exited with code ${code}: failed with ${code}`,
    );
  });

  test('reject: false resolves with the exit code', async () => {
    const result = await runner.run(['sh', '-c', 'exit 7'], { reject: false });
    expect(result.exitCode).toBe(7);
  });

  test.each(['KILL', 'TERM', 'SEGV'])('a command killed by SIG%s reports the signal', async (signal) => {
    const result = await runner.run(['sh', '-c', `kill -s ${signal} $$`], { reject: false });
    expect(result).toMatchObject({ exitCode: null, signal: `SIG${signal}` });
    const err = await failure(runner.run(['sh', '-c', `kill -s ${signal} $$`]));
    expect(err).toMatchObject({ code: 'EXIT', signal: `SIG${signal}` });
  });

  test('a missing program exits 127 with the shell message', async () => {
    const err = await failure(runner.run(['/nonexistent/program', '-x']));
    expect(err.exitCode).toBe(127);
    expect(err.stderrTail).toMatch(/nonexistent/);
  });

  test('hostile arguments arrive byte for byte (64 KiB too) and nothing is interpreted', async () => {
    const big = Array.from({ length: 64 * 1024 }, (_, i) => 'a\'b"c$`\\\n;|&'[i % 14]).join('');
    const args = [...HOSTILE_ARGS, big];
    const result = await runner.run(['printf', '%s\\0', ...args]);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(args);
    expect(existsSync('/tmp/ssh-remote-pwned')).toBe(false);
  });

  test('an argument starting with - stays an argument', async () => {
    const result = await runner.run(['printf', '%s|', '-n', '--', '-rf /']);
    expect(result.stdout).toBe('-n|--|-rf /|');
  });

  test('NUL in an argument is refused before anything is sent', async () => {
    const err = await failure(runner.run(['echo', 'a\0b']));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect((await failure(runner.run([]))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(runner.run(['true'], { timeoutMs: 0 }))).code).toBe('INVALID_ARGUMENT');
  });

  test('a prefix runs before every command and shows in argv', async () => {
    const prefixed = new SshRunner({ ...sshd.runnerOptions('node1'), prefix: ['env', 'VIA_PREFIX=yes'] });
    try {
      const result = await prefixed.run(['sh', '-c', 'echo "$VIA_PREFIX $LC_ALL"']);
      expect(result.stdout).toBe('yes C\n');
      expect(result.argv).toEqual(['env', 'VIA_PREFIX=yes', 'sh', '-c', 'echo "$VIA_PREFIX $LC_ALL"']);
    } finally {
      await prefixed.close();
    }
  });
});

describe('stdin and stdout', () => {
  test('stdin from a string, a Buffer, a stream; no stdin means EOF at once', async () => {
    expect((await runner.run(['cat'], { stdin: 'héllo\n' })).stdout).toBe('héllo\n');
    expect((await runner.run(['cat'], { stdin: Buffer.from([0, 1, 2, 255]) })).stdoutBytes).toBe(4);
    expect((await runner.run(['cat'], { stdin: Readable.from(['a', 'b', 'c']) })).stdout).toBe('abc');
    expect((await runner.run(['cat'])).stdout).toBe('');
  });

  test('a command that ignores its stdin still completes', async () => {
    const { stream } = randomSource(64);
    const result = await runner.run(['true'], { stdin: stream });
    expect(result.exitCode).toBe(0);
  });

  test('256 MiB through stdin → cat → stdout, checksums equal', { timeout: 180_000 }, async () => {
    const source = randomSource(256);
    const sink = hashingSink();
    const result = await runner.run(['cat'], { stdin: source.stream, stdout: sink.stream });
    expect(result.stdoutBytes).toBe(256 * MiB);
    expect(sink.bytes()).toBe(256 * MiB);
    expect(sink.digest()).toBe(source.digest());
  });

  test('256 MiB into a remote sha256sum matches the local checksum', { timeout: 180_000 }, async () => {
    const source = randomSource(256);
    const result = await runner.run(['sha256sum'], { stdin: source.stream });
    expect(result.stdout.split(' ')[0]).toBe(source.digest());
  });

  test('a failing stdout destination: STREAM_FAILED, remote command ended', async () => {
    const marker = uniqueMarker();
    const failing = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    const err = await failure(
      runner.run(['sh', '-c', `head -c 50000000 /dev/zero; sleep 60; : ${marker}`], { stdout: failing }),
    );
    expect(err.code).toBe('STREAM_FAILED');
    expect(err.message).toMatch(/writing stdout failed: disk full/);
    expect(await waitUntilGone(marker)).toEqual([]);
  });

  test('sendToRemote / receiveFromRemote with files and byte counts', async () => {
    const local = join(scratch, 'in.bin');
    const remote = join(scratch, 'remote.bin');
    const back = join(scratch, 'back.bin');
    const data = randomBytes(3 * MiB + 17);
    writeFileSync(local, data);
    const sent = await sendToRemote(runner, ['dd', `of=${remote}`, 'bs=1M', 'status=none'], local);
    expect(sent.bytesSent).toBe(data.length);
    const received = await receiveFromRemote(runner, ['cat', remote], back);
    expect(received.bytesReceived).toBe(data.length);
    expect(readFileSync(back).equals(data)).toBe(true);
  });

  test('receiveFromRemote into a file it cannot create: one STREAM_FAILED error before the command runs, nothing unhandled', async () => {
    const unhandled: unknown[] = [];
    const record = (error: unknown) => unhandled.push(error);
    process.on('uncaughtException', record);
    try {
      const target = join(scratch, 'no-such-dir', 'out.bin');
      // A runner not yet connected: the file's open fails while the connection is made.
      const fresh = new SshRunner(sshd.runnerOptions('node1'));
      const ran = join(scratch, 'ran');
      const err = await failure(receiveFromRemote(fresh, ['touch', ran], target)).finally(() =>
        fresh.close(),
      );
      expect(err.code).toBe('STREAM_FAILED');
      expect(err.message).toBe(`cannot write ${target}: ENOENT`);
      expect(existsSync(ran)).toBe(false);
      // A stream 'error' nobody listened to would have come by now.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
    }
  });

  test('receiveFromRemote removes its file when the command fails', async () => {
    const target = join(scratch, 'partial.bin');
    const err = await failure(receiveFromRemote(runner, ['sh', '-c', 'echo partial; exit 3'], target));
    expect(err.exitCode).toBe(3);
    expect(existsSync(target)).toBe(false);
  });

  test('sendToRemote from a missing file fails before anything runs', async () => {
    const flag = join(scratch, 'ran');
    const err = await failure(sendToRemote(runner, ['touch', flag], join(scratch, 'missing.bin')));
    expect(err.code).toBe('STREAM_FAILED');
    expect(err.message).toMatch(/cannot read .*missing\.bin: ENOENT/);
    expect(existsSync(flag)).toBe(false);
  });

  test('a stdin stream failing mid-way ends the remote command with STREAM_FAILED', async () => {
    const marker = uniqueMarker();
    let sent = 0;
    const broken = new Readable({
      read() {
        if (sent++ < 3) this.push(Buffer.alloc(64 * 1024));
        else this.destroy(new Error('disk read error'));
      },
    });
    const err = await failure(
      runner.run(['sh', '-c', `cat >/dev/null; sleep 60; : ${marker}`], { stdin: broken }),
    );
    expect(err.code).toBe('STREAM_FAILED');
    expect(err.message).toMatch(/reading stdin failed: disk read error/);
    expect(await waitUntilGone(marker)).toEqual([]);
  });
});

describe('timeouts and aborts end the remote command', () => {
  test('timeoutMs: TIMEOUT with timedOut, and no process left on the host (children too)', async () => {
    const marker = uniqueMarker();
    const err = await failure(
      runner.run(['sh', '-c', `sh -c 'sleep 60; : ${marker}-child' & sleep 60; : ${marker}`], {
        timeoutMs: 700,
      }),
    );
    expect(err).toMatchObject({ code: 'TIMEOUT', timedOut: true, host: 'node1' });
    expect(err.message).toMatch(/timed out after 700 ms/);
    expect(await waitUntilGone(marker)).toEqual([]);
  });

  test('a late timer (blocked event loop) still reports TIMEOUT, not the exit 124 of the host timeout', async () => {
    const running = runner.run(['sleep', '30'], { timeoutMs: 300 });
    await new Promise((r) => setTimeout(r, 100));
    // Block this thread (without spinning) past the host's own deadline (timeoutMs + 1 s).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
    const err = await failure(running);
    expect(err).toMatchObject({ code: 'TIMEOUT', timedOut: true });
  });

  test('a command that ignores TERM is KILLed after killAfterSeconds', async () => {
    const quick = new SshRunner({ ...sshd.runnerOptions('node1'), killAfterSeconds: 1 });
    try {
      const marker = uniqueMarker();
      const err = await failure(
        quick.run(['sh', '-c', `trap '' TERM; sleep 60; : ${marker}`], { timeoutMs: 500 }),
      );
      expect(err.code).toBe('TIMEOUT');
      expect(await waitUntilGone(marker)).toEqual([]);
    } finally {
      await quick.close();
    }
  });

  test('AbortSignal: ABORTED, and no process left on the host', async () => {
    const marker = uniqueMarker();
    const controller = new AbortController();
    const running = runner.run(['sh', '-c', `sleep 60; : ${marker}`], { signal: controller.signal });
    await waitUntilRunning(`^sh -c sleep 60; : ${marker}`);
    controller.abort(new Error('operator cancelled'));
    const err = await failure(running);
    expect(err.code).toBe('ABORTED');
    expect(err.timedOut).toBe(false);
    expect(await waitUntilGone(marker)).toEqual([]);
  });

  test('with a sudo prefix the TERM reaches the command through sudo; it ends its children itself', async () => {
    const sudo = new SshRunner({ ...sshd.runnerOptions('node1'), prefix: ['sudo', '-n'] });
    try {
      expect((await sudo.run(['sh', '-c', 'echo "$LC_ALL"'])).stdout).toBe('C\n');
      const marker = uniqueMarker();
      // sudo relays signals to its command only, so a command with children passes TERM on (see README).
      const script = `trap 'trap - TERM; kill 0' TERM; sh -c 'sleep 60; : ${marker}-child' & wait; : ${marker}`;
      const controller = new AbortController();
      const running = sudo.run(['sh', '-c', script], { signal: controller.signal });
      // A TERM that reaches sudo before it has started its command is lost: abort once it runs.
      await waitUntilRunning(`${marker}-child`);
      controller.abort();
      const err = await failure(running);
      expect(err).toMatchObject({ code: 'ABORTED', argv: ['sudo', '-n', 'sh', '-c', script] });
      expect(await waitUntilGone(marker)).toEqual([]);
    } finally {
      await sudo.close();
    }
  });

  test('an already aborted signal runs nothing', async () => {
    const err = await failure(runner.run(['touch', join(scratch, 'never')], { signal: AbortSignal.abort() }));
    expect(err.code).toBe('ABORTED');
    expect(existsSync(join(scratch, 'never'))).toBe(false);
  });

  test('the runner keeps working after timeouts and aborts', async () => {
    expect((await runner.run(['echo', 'still here'])).stdout).toBe('still here\n');
  });
});
