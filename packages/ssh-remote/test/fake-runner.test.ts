import { PassThrough, Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { RemoteError } from '../src/index.js';
import { FakeRunner, UnexpectedCommandError } from '../src/testing.js';
import { failure } from './helpers.js';

describe('FakeRunner', () => {
  test('answers registered argv and records every call', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on(['lvs', '--reportformat', 'json'], { stdout: '{"report":[]}' });
    const result = await fake.run(['lvs', '--reportformat', 'json'], { stdin: 'x' });
    expect(result).toMatchObject({ host: 'node1', exitCode: 0, stdout: '{"report":[]}', stdoutBytes: 13 });
    expect(fake.argvs).toEqual([['lvs', '--reportformat', 'json']]);
    expect(fake.calls[0]?.stdin?.toString()).toBe('x');
  });

  test('an unexpected argv rejects with a message listing what was expected', async () => {
    const fake = new FakeRunner().on(['vgs'], {});
    const err = await fake.run(['lvremove', '-y', 'vg/lv']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnexpectedCommandError);
    expect((err as Error).message).toContain('unexpected command ["lvremove","-y","vg/lv"]');
    expect((err as Error).message).toContain('["vgs"]');
  });

  test('RegExp elements and predicates match', async () => {
    const fake = new FakeRunner()
      .on(['lvcreate', /^--size=\d+b$/, 'vg1'], { stdout: 'regexp' })
      .on((argv) => argv[0] === 'pvs', { stdout: 'predicate' });
    expect((await fake.run(['lvcreate', '--size=1024b', 'vg1'])).stdout).toBe('regexp');
    expect((await fake.run(['pvs', 'anything'])).stdout).toBe('predicate');
    await expect(fake.run(['lvcreate', '--size=big', 'vg1'])).rejects.toThrow(UnexpectedCommandError);
  });

  test('non-zero exits reject like a real runner unless reject: false', async () => {
    const fake = new FakeRunner({ host: 'node2' }).on(['lvremove', 'vg/lv'], {
      exitCode: 5,
      stderr: 'in use\n',
    });
    const err = await failure(fake.run(['lvremove', 'vg/lv']));
    expect(err).toMatchObject({ code: 'EXIT', exitCode: 5, host: 'node2', stderrTail: 'in use' });
    expect((await fake.run(['lvremove', 'vg/lv'], { reject: false })).exitCode).toBe(5);
  });

  test('handlers see the call; times limits uses; assertDone reports leftovers', async () => {
    const fake = new FakeRunner();
    fake.on(['cat'], (call) => ({ stdout: call.stdin?.toString().toUpperCase() ?? '' }), { times: 1 });
    fake.on(['never'], {}, { times: 1 });
    expect((await fake.run(['cat'], { stdin: Readable.from(['ab', 'c']) })).stdout).toBe('ABC');
    await expect(fake.run(['cat'])).rejects.toThrow(/used up/);
    expect(() => fake.assertDone()).toThrow(/expected commands not run: \["never"\]/);
  });

  test('failNext injects errors, then normal answers resume', async () => {
    const fake = new FakeRunner().on(['true'], {});
    fake.failNext(2);
    expect((await failure(fake.run(['true']))).code).toBe('CONNECTION_LOST');
    expect((await failure(fake.run(['true']))).code).toBe('CONNECTION_LOST');
    expect((await fake.run(['true'])).exitCode).toBe(0);
    fake.failNext(1, 'UNREACHABLE');
    expect(RemoteError.isRetryable(await failure(fake.run(['true'])))).toBe(true);
    expect(fake.calls).toHaveLength(4);
  });

  test('an error as the answer rejects with it', async () => {
    const fake = new FakeRunner().on(['x'], new RemoteError('TIMEOUT', 'slow'));
    expect((await failure(fake.run(['x']))).code).toBe('TIMEOUT');
  });

  test('delays honour timeoutMs and AbortSignal', async () => {
    const fake = new FakeRunner().on(['slow'], { delayMs: 5000 });
    expect((await failure(fake.run(['slow'], { timeoutMs: 20 }))).code).toBe('TIMEOUT');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 10);
    expect((await failure(fake.run(['slow'], { signal: controller.signal }))).code).toBe('ABORTED');
  });

  test('stdout goes to a stream when asked, with the byte count', async () => {
    const fake = new FakeRunner().on(['dump'], { stdout: Buffer.alloc(1000, 1) });
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const result = await fake.run(['dump'], { stdout: sink });
    expect(result.stdout).toBe('');
    expect(result.stdoutBytes).toBe(1000);
    expect(Buffer.concat(chunks).length).toBe(1000);
  });

  test('prefix shows in result argv; matching uses the argv as given; NUL and empty argv refused', async () => {
    const fake = new FakeRunner({ prefix: ['sudo', '-n'] }).on(['lvs'], {});
    expect((await fake.run(['lvs'])).argv).toEqual(['sudo', '-n', 'lvs']);
    expect((await failure(fake.run(['lvs\0']))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(fake.run([]))).code).toBe('INVALID_ARGUMENT');
    await fake.close();
    expect(fake.closeCount).toBe(1);
  });
});
