import { describe, expect, test } from 'vitest';
import { exitError, stderrTail } from '../src/errors.js';
import { describeCommand, RemoteError } from '../src/index.js';

describe('RemoteError', () => {
  test('carries host, argv, exit code, signal, stderr tail and timedOut', () => {
    const err = new RemoteError('TIMEOUT', 'node1: sleep timed out', {
      host: 'node1',
      argv: ['sleep', '9'],
      stderr: 'warning\n',
    });
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      name: 'RemoteError',
      code: 'TIMEOUT',
      host: 'node1',
      argv: ['sleep', '9'],
      exitCode: null,
      signal: null,
      stderrTail: 'warning',
      timedOut: true,
    });
  });

  test('isInstance recognises the marker, not the name', () => {
    expect(RemoteError.isInstance(new RemoteError('EXIT', 'x'))).toBe(true);
    const impostor = Object.assign(new Error('x'), { name: 'RemoteError', code: 'EXIT' });
    expect(RemoteError.isInstance(impostor)).toBe(false);
    expect(RemoteError.isInstance(null)).toBe(false);
    expect(RemoteError.isInstance('RemoteError')).toBe(false);
  });

  test.each([
    ['UNREACHABLE', true],
    ['CONNECTION_LOST', true],
    ['AUTH_FAILED', false],
    ['HOST_KEY_MISMATCH', false],
    ['EXIT', false],
    ['TIMEOUT', false],
  ] as const)('%s retryable: %s', (code, retryable) => {
    const err = new RemoteError(code, 'x');
    expect(RemoteError.isRetryable(err)).toBe(retryable);
    expect(err.retryable).toBe(retryable);
  });

  test('isRetryable is false for foreign errors', () => {
    expect(RemoteError.isRetryable(Object.assign(new Error('x'), { code: 'UNREACHABLE' }))).toBe(false);
  });
});

describe('exitError', () => {
  test('names the host, the command, the exit code and the last stderr line', () => {
    const err = exitError(
      'node1',
      ['lvremove', '-y', 'vg/lv 1'],
      5,
      null,
      'noise\n  Logical volume vg/lv1 in use.\n',
    );
    expect(err.code).toBe('EXIT');
    expect(err.exitCode).toBe(5);
    expect(err.message).toBe(
      'node1: lvremove -y "vg/lv 1" exited with code 5:   Logical volume vg/lv1 in use.',
    );
  });

  test('a signal instead of an exit code', () => {
    const err = exitError('node1', ['dd'], null, 'SIGKILL', '');
    expect(err.message).toBe('node1: dd was killed by SIGKILL');
    expect(err.signal).toBe('SIGKILL');
  });

  test('stderr is cut to its tail', () => {
    const tail = stderrTail(`${'a'.repeat(10_000)}END\n`);
    expect(tail.length).toBeLessThanOrEqual(2001);
    expect(tail.endsWith('END')).toBe(true);
    expect(tail.startsWith('…')).toBe(true);
  });

  test('describeCommand shortens long commands and quotes odd arguments', () => {
    expect(describeCommand('h', ['echo', 'a b', "it's"])).toBe(`h: echo "a b" "it's"`);
    expect(describeCommand('h', ['x'.repeat(500)]).length).toBeLessThan(220);
  });
});
