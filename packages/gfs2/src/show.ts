const MAX_SHOWN = 80;

/**
 * A value from untrusted input as it may appear in a one-line error message: quoted, control
 * characters escaped, long values cut (a 1 MB argument must not become a 1 MB error line).
 */
export function show(value: string): string {
  const cut = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
  return JSON.stringify(cut);
}
