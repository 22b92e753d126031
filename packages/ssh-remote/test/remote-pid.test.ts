import { describe, expect, test } from 'vitest';
import { buildKillCommand, PidLineFilter } from '../src/remote-pid.js';

describe('PidLineFilter', () => {
  test('takes out the pid line and keeps the rest', () => {
    const filter = new PidLineFilter();
    const out = Buffer.concat([filter.push(Buffer.from('ssh-remote-pid=1234\nerr 1\n')), filter.flush()]);
    expect(filter.pid).toBe(1234);
    expect(out.toString()).toBe('err 1\n');
  });

  test('the line may arrive in pieces', () => {
    const filter = new PidLineFilter();
    const parts = ['ssh-re', 'mote-pid=', '42', '\nrest', ' more'].map((p) => filter.push(Buffer.from(p)));
    expect(filter.pid).toBe(42);
    expect(Buffer.concat([...parts, filter.flush()]).toString()).toBe('rest more');
  });

  test('output of a chatty login shell before the marker is kept', () => {
    const filter = new PidLineFilter();
    const out = Buffer.concat([filter.push(Buffer.from('motd\nssh-remote-pid=7\nx')), filter.flush()]);
    expect(filter.pid).toBe(7);
    expect(out.toString()).toBe('motd\nx');
  });

  test('without a marker everything passes through', () => {
    const filter = new PidLineFilter();
    const big = Buffer.alloc(5000, 'e');
    const out = Buffer.concat([filter.push(Buffer.from('no marker\n')), filter.push(big), filter.flush()]);
    expect(filter.pid).toBeNull();
    expect(out.length).toBe(10 + 5000);
  });

  test('a fake marker with a non-numeric pid is not taken', () => {
    const filter = new PidLineFilter();
    const out = Buffer.concat([filter.push(Buffer.from('ssh-remote-pid=1;rm\n')), filter.flush()]);
    expect(filter.pid).toBeNull();
    expect(out.toString()).toBe('ssh-remote-pid=1;rm\n');
  });
});

test('buildKillCommand only takes a plain pid', () => {
  expect(buildKillCommand(123)).toBe('kill -s TERM 123');
  expect(() => buildKillCommand(1)).toThrow();
  expect(() => buildKillCommand(-5)).toThrow();
  expect(() => buildKillCommand(1.5)).toThrow();
});
