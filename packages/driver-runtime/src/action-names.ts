/**
 * A driver's action names: those it supports and those oned may run that it refuses with one line.
 * `all` is both lists, supported first; `isActionName` and `isSupported` are the checks of its
 * `DriverSpec`.
 */
export function actionNames<S extends string, U extends string>(
  supported: readonly S[],
  unsupported: readonly U[],
) {
  const all: readonly (S | U)[] = [...supported, ...unsupported];
  return {
    all,
    isActionName: (name: string): name is S | U => (all as readonly string[]).includes(name),
    isSupported: (name: S | U): name is S => (supported as readonly string[]).includes(name),
  };
}
