import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * Aliases from every workspace package's public entry points to its TypeScript sources,
 * so tests run against `src/` without a build. `"./testing"` maps to `src/testing.ts`
 * (or `src/testing/index.ts`), `"."` to `src/index.ts`.
 */
export function workspaceAliases(): { find: RegExp; replacement: string }[] {
  const aliases: { find: RegExp; replacement: string }[] = [];
  for (const group of ['packages', 'tools']) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const dir of readdirSync(groupDir)) {
      const pkgFile = join(groupDir, dir, 'package.json');
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
        name: string;
        exports?: Record<string, unknown>;
      };
      for (const key of Object.keys(pkg.exports ?? {})) {
        if (key.endsWith('.json')) continue;
        const sub = key === '.' ? 'index' : key.replace(/^\.\//, '');
        const candidates = [
          join(groupDir, dir, 'src', `${sub}.ts`),
          join(groupDir, dir, 'src', sub, 'index.ts'),
        ];
        const found = candidates.find((c) => existsSync(c));
        if (!found) continue;
        const specifier = key === '.' ? pkg.name : `${pkg.name}/${sub}`;
        // Exact match only: a plain string alias would also rewrite `<name>/testing`.
        aliases.push({
          find: new RegExp(`^${specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`),
          replacement: found,
        });
      }
    }
  }
  return aliases;
}

/** The project settings every package shares; `overrides.test` is merged over the defaults. */
export function packageProject(dir: string, overrides: UserWorkspaceConfig = {}): UserWorkspaceConfig {
  const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name as string;
  const { test, ...rest } = overrides;
  return defineProject({
    resolve: { alias: workspaceAliases() },
    ...rest,
    test: {
      name,
      root: resolve(dir),
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      testTimeout: 30_000,
      ...test,
    },
  });
}

const testbedSetup = join(root, 'tools', 'testbed', 'src', 'vitest-setup.ts');

/**
 * A package whose `*.testbed.test.ts` run on the qemu cluster of tools/testbed: its global setup boots
 * the cluster once per test run, shared by every project that uses it (`TESTBED_REUSE=1` attaches
 * to a running one and leaves it up). `TESTBED_SKIP=1` leaves those files out for a fast unit run.
 */
export function testbedProject(
  dir: string,
  timeouts: { testTimeout?: number; hookTimeout?: number } = {},
): UserWorkspaceConfig {
  if (process.env.TESTBED_SKIP === '1') {
    return packageProject(dir, { test: { exclude: ['**/node_modules/**', '**/*.testbed.test.ts'] } });
  }
  return packageProject(dir, {
    test: {
      globalSetup: [testbedSetup],
      testTimeout: timeouts.testTimeout ?? 300_000,
      hookTimeout: timeouts.hookTimeout ?? 600_000,
    },
  });
}
