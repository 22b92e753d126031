import { describe, expect, test } from 'vitest';
import { buildKillCommand, PidLineFilter } from '../src/remote-pid.js';

describe('PidLineFilter', () => {
  // Each case: what arrives, in pushes; the pid taken (after the pushes, and still after flush); what passes on.
  test.each([
    ['takes out the pid line and keeps the rest', ['ssh-remote-pid=1234\nerr 1\n'], 1234, 'err 1\n'],
    ['the line may arrive in pieces', ['ssh-re', 'mote-pid=', '42', '\nrest', ' more'], 42, 'rest more'],
    ['output of a chatty login shell before the marker is kept', ['motd\nssh-remote-pid=7\nx'], 7, 'motd\nx'],
    [
      'without a marker everything passes through',
      ['no marker\n', 'e'.repeat(5000)],
      null,
      `no marker\n${'e'.repeat(5000)}`,
    ],
    [
      'a fake marker with a non-numeric pid is not taken',
      ['ssh-remote-pid=1;rm\n'],
      null,
      'ssh-remote-pid=1;rm\n',
    ],
  ])('%s', (_name, parts, pid, passed) => {
    const filter = new PidLineFilter();
    const pushed = parts.map((part) => filter.push(Buffer.from(part)));
    expect(filter.pid).toBe(pid);
    const out = Buffer.concat([...pushed, filter.flush()]);
    expect(filter.pid).toBe(pid);
    expect(out.toString()).toBe(passed);
  });
});

test('buildKillCommand only takes a plain pid', () => {
  expect(buildKillCommand(123)).toBe('kill -s TERM 123');
  expect(() => buildKillCommand(1)).toThrow();
  expect(() => buildKillCommand(-5)).toThrow();
  expect(() => buildKillCommand(1.5)).toThrow();
});
