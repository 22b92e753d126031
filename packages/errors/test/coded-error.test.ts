import { describe, expect, expectTypeOf, test, vi } from 'vitest';
import { CodedError } from '../src/index.js';

type AlphaCode = 'NOT_FOUND' | 'BUSY';

class AlphaError extends CodedError<AlphaCode> {
  static {
    CodedError.register(AlphaError, 'test/AlphaError');
  }
  override readonly name = 'AlphaError';
  readonly host = 'node1';
}

class BetaError extends CodedError<'NOT_FOUND'> {
  static {
    CodedError.register(BetaError, 'test/BetaError');
  }
}

describe('CodedError', () => {
  test('keeps code, message, name and the subclass fields', () => {
    const error = new AlphaError('BUSY', 'vg1/lv1 is busy');
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      code: 'BUSY',
      message: 'vg1/lv1 is busy',
      name: 'AlphaError',
      host: 'node1',
    });
    expect(String(error)).toBe('AlphaError: vg1/lv1 is busy');
  });

  test('two subclasses do not recognise each other', () => {
    const alpha = new AlphaError('NOT_FOUND', 'x');
    const beta = new BetaError('NOT_FOUND', 'x');
    expect([AlphaError.isInstance(alpha), AlphaError.isInstance(beta)]).toEqual([true, false]);
    expect([BetaError.isInstance(beta), BetaError.isInstance(alpha)]).toEqual([true, false]);
    expect(AlphaError.hasCode(beta, 'NOT_FOUND')).toBe(false);
    expect(CodedError.isInstance(alpha) && CodedError.isInstance(beta)).toBe(true);
  });

  test('an instance from another copy of the module with the same name is recognised', async () => {
    vi.resetModules();
    const copy = await import('../src/index.js');
    expect(copy.CodedError).not.toBe(CodedError);
    class AlphaCopy extends copy.CodedError<AlphaCode> {
      static {
        copy.CodedError.register(AlphaCopy, 'test/AlphaError');
      }
    }
    const foreign = new AlphaCopy('BUSY', 'x', { retryable: true });
    expect(foreign).not.toBeInstanceOf(AlphaError);
    expect(AlphaError.isInstance(foreign)).toBe(true);
    expect(AlphaError.hasCode(foreign, 'BUSY')).toBe(true);
    expect(AlphaError.isRetryable(foreign)).toBe(true);
    expect(BetaError.isInstance(foreign)).toBe(false);
  });

  test('the name, not the class name, is the marker: an impostor is refused', () => {
    const impostor = Object.assign(new Error('x'), { name: 'AlphaError', code: 'BUSY', isRetryable: true });
    expect(AlphaError.isInstance(impostor)).toBe(false);
    expect(AlphaError.isRetryable(impostor)).toBe(false);
    expect(AlphaError.isInstance(null)).toBe(false);
    expect(AlphaError.isInstance('AlphaError')).toBe(false);
  });

  test('keeps the cause, and has none when none is given', () => {
    const cause = new Error('connection reset');
    expect(new AlphaError('BUSY', 'x', { cause }).cause).toBe(cause);
    expect('cause' in new AlphaError('BUSY', 'x')).toBe(false);
    expect('cause' in new AlphaError('BUSY', 'x', { cause: undefined })).toBe(false);
  });

  test('is not retryable unless told', () => {
    expect(new AlphaError('BUSY', 'x').isRetryable).toBe(false);
    expect(AlphaError.isRetryable(new AlphaError('BUSY', 'x'))).toBe(false);
    expect(new AlphaError('BUSY', 'x', { retryable: true }).isRetryable).toBe(true);
    expect(AlphaError.isRetryable(new AlphaError('BUSY', 'x', { retryable: true }))).toBe(true);
  });

  test('hasCode checks the code and narrows to the subclass with that code', () => {
    const value: unknown = new AlphaError('NOT_FOUND', 'x');
    expect(AlphaError.hasCode(value, 'BUSY')).toBe(false);
    expect(AlphaError.hasCode(value, 'NOT_FOUND')).toBe(true);
    if (AlphaError.hasCode(value, 'NOT_FOUND')) {
      expectTypeOf(value).toEqualTypeOf<AlphaError & { code: 'NOT_FOUND' }>();
      expectTypeOf(value.host).toEqualTypeOf<string>();
    }
    // @ts-expect-error not a code of AlphaError
    AlphaError.hasCode(value, 'EXEC');
  });

  test('the statics work unbound, as callbacks', () => {
    const errors = [new BetaError('NOT_FOUND', 'x'), new AlphaError('BUSY', 'x', { retryable: true })];
    const { isInstance, isRetryable } = AlphaError;
    expect(errors.filter(isInstance)).toEqual([errors[1]]);
    expect(errors.map(isRetryable)).toEqual([false, true]);
  });

  test('a subclass of a subclass is an instance of both', () => {
    class GammaError extends AlphaError {
      static {
        CodedError.register(GammaError, 'test/GammaError');
      }
    }
    const gamma = new GammaError('BUSY', 'x');
    expect([GammaError.isInstance(gamma), AlphaError.isInstance(gamma)]).toEqual([true, true]);
    expect(GammaError.isInstance(new AlphaError('BUSY', 'x'))).toBe(false);
  });

  test('a subclass that did not register a name cannot be built', () => {
    class Unnamed extends CodedError<'X'> {}
    expect(() => new Unnamed('X', 'x')).toThrow('Unnamed is not registered (CodedError.register)');
    expect(() => CodedError.register(AlphaError, 'test/again')).toThrow('AlphaError is registered already');
  });
});
