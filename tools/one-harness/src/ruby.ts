// Small imitations of the Ruby core methods the OpenNebula front-ends rely on. The protocol
// text depends on their exact behaviour (what `strip` removes, how `Integer()` reads "010"),
// so they are reproduced here rather than approximated with the JavaScript equivalents.

/** Ruby's ASCII whitespace (`\s` in a Ruby regexp, and what `split(' ')` splits on). */
export const RUBY_SPACE = '[ \\t\\n\\v\\f\\r]';

const STRIP = /^[\0\t\n\v\f\r ]+|[\0\t\n\v\f\r ]+$/g;

/** `String#strip`: also removes NUL bytes, unlike `String.prototype.trim` it keeps Unicode spaces. */
export function rubyStrip(text: string): string {
  return text.replace(STRIP, '');
}

/** `String#each_line` without the separators (a final newline does not open an empty line). */
export function rubyLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  return lines;
}

/** `String#split(' ')`: awk-style split on ASCII whitespace, leading whitespace ignored. */
export function rubySplitWords(line: string): string[] {
  return line.split(/[ \t\n\v\f\r]+/).filter((word) => word !== '');
}

/** `String#to_i`: leading digits (with `_` separators) after optional blanks and sign, else 0. */
export function rubyToI(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+(?:_\d+)*)/.exec(text);
  return m?.[1] === undefined ? 0 : Number.parseInt(m[1].replaceAll('_', ''), 10);
}

/**
 * `Integer(digits)` for a string of ASCII digits: a leading 0 means octal ("010" is 8), an
 * invalid octal number raises — returned here as `undefined`. Big values stay exact.
 */
export function rubyIntegerOfDigits(digits: string): string | undefined {
  if (/^0[0-7]+$/.test(digits)) return BigInt(`0o${digits.slice(1)}`).toString();
  if (/^0\d+$/.test(digits)) return undefined;
  return BigInt(digits).toString();
}

/** `Shellwords.escape`: what `one_tm.rb` does to every argument of a transfer line. */
export function shellwordsEscape(word: string): string {
  if (word === '') return "''";
  return word.replace(/[^A-Za-z0-9_\-.,:+/@\n]/gu, '\\$&').replace(/\n/g, "'\n'");
}

/** `Base64.strict_encode64` (also what `encode64(x).strip.delete("\n")` amounts to). */
export function base64(text: string | Buffer): string {
  return Buffer.from(text).toString('base64');
}

/**
 * `File.join`: glues parts with single slashes but, unlike `path.join`, resolves nothing — a
 * `..` inside an action name stays in the path, as in the real driver's messages.
 */
export function rubyFileJoin(...parts: string[]): string {
  return parts.reduce((joined, part) => `${joined.replace(/\/+$/, '')}/${part.replace(/^\/+/, '')}`);
}
