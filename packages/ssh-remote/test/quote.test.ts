import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { buildRemoteCommand, quoteArgv, quoteForShell, RemoteError } from '../src/index.js';
import { thrown } from './helpers.js';
import { HOSTILE_ARGS } from './hostile-args.js';

describe('quoteForShell', () => {
  test.each([
    ['plain', "'plain'"],
    ['', "''"],
    ["it's", "'it'\\''s'"],
    ["'", "''\\'''"],
    ['$(x)', "'$(x)'"],
    ['a\nb', "'a\nb'"],
  ])('%j → %s', (input, expected) => {
    expect(quoteForShell(input)).toBe(expected);
  });

  test('refuses a NUL byte with INVALID_ARGUMENT', () => {
    const err = thrown(() => quoteForShell('a\0b'));
    expect(RemoteError.isInstance(err) && err.code).toBe('INVALID_ARGUMENT');
    expect(() => quoteArgv(['ok', 'bad\0'])).toThrow(/NUL/);
  });

  test('refuses an empty argv and non-strings', () => {
    expect(() => quoteArgv([])).toThrow(/empty argv/);
    expect(() => quoteForShell(5 as unknown as string)).toThrow(/must be a string/);
  });

  test('a real sh turns every quoted hostile string back into the same bytes', () => {
    const args = [...HOSTILE_ARGS, 'y'.repeat(64 * 1024)];
    // printf '%s\0' prints each argument NUL-terminated: exactly the argv sh built.
    const script = `printf '%s\\0' ${quoteArgv(args)}`;
    const out = execFileSync('sh', ['-c', script]);
    expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(args);
  });
});

describe('buildRemoteCommand', () => {
  test('prints the pid, then execs timeout under env LC_ALL=C and setpriv, argv quoted', () => {
    expect(buildRemoteCommand(['lvs', '-o', 'lv_name'])).toBe(
      `printf 'ssh-remote-pid=%s\\n' "$$" >&2; export LC_ALL=C; exec setpriv --pdeathsig TERM timeout -k 5s 0s 'lvs' '-o' 'lv_name'`,
    );
  });

  test('timeout in seconds with milliseconds precision and a custom kill delay', () => {
    expect(buildRemoteCommand(['true'], { timeoutSeconds: 1.5, killAfterSeconds: 2 })).toContain(
      "timeout -k 2s 1.5s 'true'",
    );
    expect(buildRemoteCommand(['true'], { timeoutSeconds: 0.0001 })).toContain('timeout -k 5s 0s');
  });

  test('a prefix runs in its own session (setsid) so sudo relays the TERM', () => {
    expect(buildRemoteCommand(['helper', 'report', 'vgs'], { prefix: ['sudo', '-n'] })).toMatch(
      / 0s 'setsid' 'sudo' '-n' 'helper' 'report' 'vgs'$/,
    );
  });

  test('rejects a negative or non-finite timeout and NUL in argv or prefix', () => {
    expect(() => buildRemoteCommand(['true'], { timeoutSeconds: -1 })).toThrow(/timeout/);
    expect(() => buildRemoteCommand(['true'], { timeoutSeconds: Number.NaN })).toThrow(/timeout/);
    expect(() => buildRemoteCommand(['a\0'])).toThrow(/NUL/);
    expect(() => buildRemoteCommand(['true'], { prefix: ['sudo\0'] })).toThrow(/NUL/);
  });
});
