import { describe, expect, it } from 'vitest';
import { Gfs2Error } from '../src/errors.js';

describe('Gfs2Error', () => {
  it('is recognised by its marker, also as a copy from another install', () => {
    const error = new Gfs2Error('NOT_GFS2', 'not GFS2: /x on node1 is on ext2/ext3', {
      host: 'node1',
      path: '/x',
    });
    expect(Gfs2Error.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ name: 'Gfs2Error', code: 'NOT_GFS2', host: 'node1', path: '/x' });
    const copy = Object.assign(new Error('x'), { [Symbol.for('one-gfs2clvm.gfs2.Gfs2Error')]: true });
    expect(Gfs2Error.isInstance(copy)).toBe(true);
    expect(Gfs2Error.isInstance(new Error('x'))).toBe(false);
    expect(Gfs2Error.isInstance(null)).toBe(false);
  });

  it('keeps its message on one line whatever the input held', () => {
    expect(new Gfs2Error('EXEC', 'mkdir /x on node1: a\nb\r\u0000c\n').message).toBe(
      'mkdir /x on node1: a b c',
    );
  });

  it('is retryable only when told so (lost connection, timeout)', () => {
    expect(new Gfs2Error('EXEC', 'x', { retryable: true }).isRetryable).toBe(true);
    expect(new Gfs2Error('EXEC', 'mkdir: Permission denied').isRetryable).toBe(false);
    expect(new Gfs2Error('UNSAFE_IMAGE', 'x').isRetryable).toBe(false);
  });

  it('keeps the cause', () => {
    const cause = new Error('ssh: connection lost');
    expect(new Gfs2Error('EXEC', 'x', { cause }).cause).toBe(cause);
  });
});
