import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineProject, type UserWorkspaceConfig } from 'vitest/config';

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

/**
 * Testbed suites that change what the other suites stand on, with the reason. `npm test`
 * (scripts/test.mjs) runs every other file two at a time on the one cluster, then these alone.
 */
export const SERIAL_TESTBED_SUITES: Readonly<Record<string, string>> = {
  'packages/installer/test/host-role.testbed.test.ts':
    'uninstalls the host helper, sudoers and udev rule on node2 (the one-tm suites need them); reactivate-boot activates every tagged LV of the host',
  'packages/installer/test/guide.testbed.test.ts':
    'follows the README operator guide: install --role host on every host (qemu.conf laid down where missing), lvchange/vgchange as written',
  'packages/installer/test/ssh-push.testbed.test.ts':
    'uninstalls and reinstalls the host role on node1 and compares whole-host snapshots',
  'packages/lvm/test/lvm.testbed.test.ts':
    'writes vg-plain (no lock manager) from node1; asks for all free space; vgcreate --shared holds the global lock',
  'packages/lvm/test/vg-lock.testbed.test.ts':
    "holds vg-one-100's VG lock on node1 for 75 s: the other suites' own lvcreate/lvremove (set-up, clean-up) do not retry",
  'tools/testbed/test/cluster.testbed.test.ts':
    'creates and removes LVs in vg-plain without a lock; adds a udev rule on node1',
};

/**
 * Testbed suites that boot an emulated cluster of their own (they break hosts) and never touch the
 * shared one. `npm test` runs them beside the serial suites, whose single worker leaves the machine's
 * second core mostly idle, instead of beside the two-worker lane, where their extra qemu guests
 * slowed every other suite.
 */
export const OWN_CLUSTER_TESTBED_SUITES: Readonly<Record<string, string>> = {
  'tools/testbed/test/faults.testbed.test.ts':
    'kills, pauses and cuts off hosts of a 2-host cluster it boots',
  'packages/one-tm/test/host-faults.testbed.test.ts':
    'kills a host mid-clone and stops a lockspace on a cluster it boots (opt-in: TESTBED_HOST_FAULTS=1)',
};

/** The files of `suites` (repository-relative) that belong to the project at `projectRoot`. */
function projectFiles(suites: Readonly<Record<string, string>>, projectRoot: string): string[] {
  return Object.keys(suites)
    .map((file) => resolve(root, file))
    .filter((file) => file.startsWith(`${projectRoot}/`))
    .map((file) => relative(projectRoot, file));
}

/**
 * `TESTBED_LANE` (set by scripts/test.mjs): `serial` keeps only the serial suites, `own` only the
 * suites with a cluster of their own, `parallel` everything else. Unset: every file, as a plain
 * `vitest run` does.
 */
function laneFiles(dir: string): { include?: string[]; exclude?: string[] } {
  const lane = process.env.TESTBED_LANE;
  if (lane === undefined || lane === '') return {};
  const projectRoot = resolve(dir);
  const serial = projectFiles(SERIAL_TESTBED_SUITES, projectRoot);
  const own = projectFiles(OWN_CLUSTER_TESTBED_SUITES, projectRoot);
  if (lane === 'serial') return { include: serial };
  if (lane === 'own') return { include: own };
  if (lane === 'parallel') return { exclude: [...serial, ...own] };
  throw new Error(`TESTBED_LANE must be parallel, serial or own, got ${lane}`);
}

/** The project settings every package shares; `overrides.test` is merged over the defaults. */
export function packageProject(dir: string, overrides: UserWorkspaceConfig = {}): UserWorkspaceConfig {
  const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name as string;
  const { test, ...rest } = overrides;
  const lane = laneFiles(dir);
  return defineProject({
    resolve: { alias: workspaceAliases() },
    ...rest,
    test: {
      name,
      root: resolve(dir),
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      testTimeout: 30_000,
      // vitest's 10 s failed an afterAll that removes a packed tree, on a loaded machine.
      hookTimeout: 60_000,
      ...test,
      ...(lane.include ? { include: lane.include } : {}),
      exclude: [...(test?.exclude ?? configDefaults.exclude), ...(lane.exclude ?? [])],
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
