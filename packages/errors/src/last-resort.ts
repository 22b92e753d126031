/**
 * The last resort of a process: on `uncaughtException` or `unhandledRejection`, `report(error)`
 * (which writes what the user and the log get), then `exit(1)` even when `report` throws. A second
 * failure while it runs changes nothing. Call it once, first thing in `main`.
 */
export function onUncaught(
  report: (error: unknown) => void,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  let fired = false;
  const handler = (error: unknown) => {
    if (fired) return;
    fired = true;
    try {
      report(error);
    } finally {
      exit(1);
    }
  };
  process.on('uncaughtException', handler);
  process.on('unhandledRejection', handler);
}
