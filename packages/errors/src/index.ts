export interface CodedErrorOptions {
  /** The error that led to this one (kept as `error.cause`; left out when `undefined`). */
  cause?: unknown;
  /** Trying the same call again later may succeed; default `false`. */
  retryable?: boolean;
}

/** A class the statics below can be called on: any subclass of `CodedError`. */
export type CodedErrorClass<E> = abstract new (...args: never[]) => E;

/** The marker of each registered class (its name is the key of `Symbol.for`). */
const markers = new WeakMap<object, symbol>();

/** The markers of a class and of the registered classes it extends. */
function markersOf(cls: object): symbol[] {
  const found: symbol[] = [];
  for (let c: object | null = cls; c !== null; c = Object.getPrototypeOf(c)) {
    const marker = markers.get(c);
    if (marker !== undefined) found.push(marker);
  }
  return found;
}

/** Whether `value` carries the marker of `cls` (a registered class). */
function isMarked(value: unknown, cls: object): boolean {
  const marker = markers.get(cls);
  if (marker === undefined) throw new TypeError('CodedError: call the statics on a registered class');
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
}

/**
 * The base of the project's error classes: `code` says what happened (a string union per library),
 * `isRetryable` whether trying again later may help. Each subclass registers a name once
 * (`CodedError.register`); its instances carry `Symbol.for(name)`, so `isInstance` recognises them
 * across duplicate copies of a package, where `instanceof` does not.
 */
export abstract class CodedError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly isRetryable: boolean;

  constructor(code: Code, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.isRetryable = options.retryable ?? false;
    const marks = markersOf(new.target);
    // One is CodedError's own: a subclass that did not register a name would be unrecognisable.
    if (marks.length < 2) throw new TypeError(`${new.target.name} is not registered (CodedError.register)`);
    for (const marker of marks) Object.defineProperty(this, marker, { value: true });
  }

  /**
   * Gives `cls` its marker, `Symbol.for(name)` (a name unique in the project, such as
   * `@one-gfs2clvm/lvm/LvmError`), and statics bound to it, so `errors.some(LvmError.isInstance)`
   * works. Call it once, in the subclass's `static { }` block.
   */
  static register(cls: CodedErrorClass<CodedError>, name: string): void {
    if (markers.has(cls)) throw new TypeError(`${cls.name} is registered already`);
    markers.set(cls, Symbol.for(name));
    for (const key of ['isInstance', 'hasCode', 'isRetryable'] as const)
      Object.defineProperty(cls, key, {
        value: CodedError[key].bind(cls),
        writable: true,
        configurable: true,
      });
  }

  /** `instanceof` for the class it is called on, also for instances from another copy of its package. */
  static isInstance<E>(this: CodedErrorClass<E>, value: unknown): value is E {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass the static is called on (or bound to)
    return isMarked(value, this);
  }

  /** An instance of the class it is called on with that code (narrowed to it). */
  static hasCode<E extends CodedError, C extends E['code']>(
    this: CodedErrorClass<E>,
    value: unknown,
    code: C,
  ): value is E & { code: C } {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass the static is called on (or bound to)
    return isMarked(value, this) && (value as E).code === code;
  }

  /** An instance of the class it is called on for which trying again later may succeed. */
  static isRetryable<E extends CodedError>(this: CodedErrorClass<E>, value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass the static is called on (or bound to)
    return isMarked(value, this) && (value as E).isRetryable;
  }
}

markers.set(CodedError, Symbol.for('@one-gfs2clvm/errors/CodedError'));

export { onUncaught } from './last-resort.js';
