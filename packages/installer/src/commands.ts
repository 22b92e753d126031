import type { RunContext } from './engine.js';
import type { Exec } from './exec.js';

/**
 * Runs system commands after files changed (udevadm, systemctl). Skipped in a dry run and under
 * `--root` (another root's daemons are not ours to poke); each skipped command is printed.
 * Returns the failures, one line each.
 */
export async function runCommands(
  commands: readonly (readonly string[])[],
  context: RunContext,
): Promise<string[]> {
  const failures: string[] = [];
  for (const argv of commands) {
    const shown = argv.join(' ');
    if (context.target.root !== '/') {
      context.print(`skipped under --root: ${shown}`);
      continue;
    }
    if (context.dryRun) {
      context.print(`would run: ${shown}`);
      continue;
    }
    const result = await runOne(context.target.exec, argv);
    if (result === undefined) context.print(`ran: ${shown}`);
    else {
      context.print(`FAIL ${shown}: ${result}`);
      failures.push(`${shown}: ${result}`);
    }
  }
  return failures;
}

async function runOne(exec: Exec, argv: readonly string[]): Promise<string | undefined> {
  try {
    const result = await exec(argv);
    if (result.exitCode === 0) return undefined;
    return `exit ${result.exitCode}: ${(result.stderr || result.stdout).trim().split('\n')[0] ?? ''}`;
  } catch (error) {
    return (error as Error).message;
  }
}
