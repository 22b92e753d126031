import { Gfs2Error, parseId, validateHostName } from '@one-gfs2clvm/gfs2';
import { type LvRef, parseSource } from '@one-gfs2clvm/lvm';
import { DriverError } from './errors.js';

/** Largest size oned can ask for, in MiB (keeps byte sizes exact integers). */
export const MAX_SIZE_MIB = 2 ** 32;

/** Refuses a wrong argument count with the action's usage (the argv oned sends, protocol §2.2). */
export function expectArgs(
  action: string,
  argv: readonly string[],
  counts: readonly number[],
  usage: string,
): void {
  if (!counts.includes(argv.length)) {
    throw new DriverError(
      'USAGE',
      `${action}: expected ${counts.join(' or ')} arguments, got ${argv.length}: ${usage}`,
    );
  }
}

/** Runs a parser of `@one-gfs2clvm/gfs2`: its refusal becomes the driver's `INVALID_ARGUMENT`. */
export function asInvalidArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (Gfs2Error.isInstance(error))
      throw new DriverError('INVALID_ARGUMENT', error.message, { cause: error });
    throw error;
  }
}

export function parseHost(arg: string): string {
  return asInvalidArgument(() => validateHostName(arg));
}

export function parseIdArg(arg: string, what: string): number {
  return asInvalidArgument(() => parseId(arg, what));
}

export function parseSizeMiB(arg: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(arg) || Number(arg) > MAX_SIZE_MIB)
    throw new DriverError(
      'INVALID_ARGUMENT',
      `size ${JSON.stringify(arg.slice(0, 40))} is not a size in MiB`,
    );
  return Number(arg);
}

/**
 * An image SOURCE as gfs2clvm image datastores write it, `<vg>/<lv>`, optionally behind oned's
 * `host:` prefix (clone/ln give `fe:<source>`).
 */
export function parseImageSource(arg: string): LvRef {
  const colon = arg.indexOf(':');
  const source = colon >= 0 && !arg.startsWith('/') ? arg.slice(colon + 1) : arg;
  try {
    return parseSource(source);
  } catch (error) {
    throw new DriverError(
      'INVALID_ARGUMENT',
      `image source ${JSON.stringify(arg.slice(0, 60))} is not <vg>/<lv> of a gfs2clvm image datastore`,
      { cause: error },
    );
  }
}
