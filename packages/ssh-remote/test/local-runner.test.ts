import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { LocalRunner, RemoteError } from '../src/index.js';
import { uniqueMarker, waitUntilGone } from './helpers.js';
import { HOSTILE_ARGS } from './hostile-args.js';

const runner = new LocalRunner();

async function failure(promise: Promise<unknown>): Promise<RemoteError> {
  const err = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!RemoteError.isInstance(err)) throw err;
  return err;
}

describe('LocalRunner', () => {
  test('exit code, stdout, stderr and LC_ALL=C', async () => {
    const result = await runner.run(['sh', '-c', 'echo "$LC_ALL"; echo oops >&2']);
    expect(result).toMatchObject({
      host: 'local',
      exitCode: 0,
      signal: null,
      stdout: 'C\n',
      stderr: 'oops\n',
    });
    expect(result.stdoutBytes).toBe(2);
  });

  test('non-zero exit rejects with EXIT, or resolves with reject: false', async () => {
    const err = await failure(runner.run(['sh', '-c', 'echo bad thing >&2; exit 3']));
    expect(err).toMatchObject({ code: 'EXIT', exitCode: 3, host: 'local', stderrTail: 'bad thing' });
    const result = await runner.run(['sh', '-c', 'exit 3'], { reject: false });
    expect(result.exitCode).toBe(3);
  });

  test('a signal is reported by name', async () => {
    const result = await runner.run(['sh', '-c', 'kill -s KILL $$'], { reject: false });
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
  });

  test('argv is passed without a shell', async () => {
    const result = await runner.run(['printf', '%s\\0', ...HOSTILE_ARGS]);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(HOSTILE_ARGS);
  });

  test('stdin from a string, a Buffer and a stream', async () => {
    expect((await runner.run(['cat'], { stdin: 'text' })).stdout).toBe('text');
    expect((await runner.run(['cat'], { stdin: Buffer.from('buf') })).stdout).toBe('buf');
    expect((await runner.run(['cat'], { stdin: Readable.from(['a', 'b']) })).stdout).toBe('ab');
  });

  test('stdout into a stream with a byte count', async () => {
    const hash = createHash('sha256');
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        hash.update(chunk);
        callback();
      },
    });
    const result = await runner.run(['head', '-c', '1000000', '/dev/zero'], { stdout: sink });
    expect(result.stdout).toBe('');
    expect(result.stdoutBytes).toBe(1_000_000);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(1_000_000)).digest('hex'));
  });

  test('timeout and abort', async () => {
    const timedOut = await failure(runner.run(['sleep', '30'], { timeoutMs: 200 }));
    expect(timedOut).toMatchObject({ code: 'TIMEOUT', timedOut: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const aborted = await failure(runner.run(['sleep', '30'], { signal: controller.signal }));
    expect(aborted.code).toBe('ABORTED');
  });

  test('a timeout ends the whole process group, children and TERM-ignorers included', async () => {
    const quick = new LocalRunner({ killAfterMs: 300 });
    const marker = uniqueMarker();
    const script = `sh -c 'trap "" TERM; sleep 60; : ${marker}-child' & sleep 60; : ${marker}`;
    const err = await failure(quick.run(['sh', '-c', script], { timeoutMs: 300 }));
    expect(err.code).toBe('TIMEOUT');
    expect(await waitUntilGone(marker)).toEqual([]);
  });

  test('a failing stdin stream: STREAM_FAILED, command ended', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('disk read error'));
      },
    });
    const err = await failure(runner.run(['sh', '-c', 'cat >/dev/null; sleep 30'], { stdin: broken }));
    expect(err.code).toBe('STREAM_FAILED');
    expect(err.message).toMatch(/disk read error/);
  });

  test('a command that does not read its stdin stream succeeds', async () => {
    const big = Readable.from(Array.from({ length: 64 }, () => Buffer.alloc(1024 * 1024)));
    expect((await runner.run(['true'], { stdin: big })).exitCode).toBe(0);
  });

  test('bad input: empty argv, NUL, missing program, bad timeout', async () => {
    expect((await failure(runner.run([]))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(runner.run(['echo', 'a\0b']))).code).toBe('INVALID_ARGUMENT');
    const missing = await failure(runner.run(['/nonexistent/program']));
    expect(missing.code).toBe('SPAWN_FAILED');
    expect(missing.message).toMatch(/cannot run \/nonexistent\/program: ENOENT/);
    expect((await failure(runner.run(['true'], { timeoutMs: -1 }))).code).toBe('INVALID_ARGUMENT');
  });

  test('a prefix is part of the argv run', async () => {
    const prefixed = new LocalRunner({ prefix: ['env', 'EXTRA=1'] });
    const result = await prefixed.run(['sh', '-c', 'echo $EXTRA']);
    expect(result.stdout).toBe('1\n');
    expect(result.argv).toEqual(['env', 'EXTRA=1', 'sh', '-c', 'echo $EXTRA']);
  });
});
