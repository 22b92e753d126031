import type { Exec } from '../exec.js';
import { type CheckResult, fail, ok } from './check.js';

/** The oldest Node.js the drivers run on (`engines` of the packages). */
export const MIN_NODE_VERSION = [20, 19, 0] as const;

/** How to get it on the distributions OpenNebula supports (their own packages are older, except Debian 13's). */
export const NODE_INSTALL_HINT =
  'install Node.js >= 20.19 for oneadmin: Debian 11/12, Ubuntu 22.04/24.04: the NodeSource nodejs 20.x or 22.x packages (https://github.com/nodesource/distributions); Debian 13: apt-get install nodejs; RHEL/AlmaLinux/Rocky 8 and 9: dnf module enable nodejs:20 && dnf install nodejs';

/** `v20.19.2` → `[20, 19, 2]`; anything else → `null`. Pure. */
export function parseNodeVersion(text: string): [number, number, number] | null {
  const match = /^v(\d+)\.(\d+)\.(\d+)\s*$/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : null;
}

/** Whether `version` is at least `MIN_NODE_VERSION`. Pure. */
export function nodeVersionSuffices(version: readonly number[]): boolean {
  for (const [i, min] of MIN_NODE_VERSION.entries()) {
    const part = version[i] ?? 0;
    if (part !== min) return part > min;
  }
  return true;
}

/**
 * The action shims start with `#!/usr/bin/env node`: the Node.js that counts is the one `user`
 * finds on its PATH (through `sudo -n -u` when doctor runs as root, as oned runs the drivers).
 */
export async function checkNodeVersion(exec: Exec, user: string): Promise<CheckResult> {
  const name = 'Node.js';
  const argv = ['node', '--version'];
  const asUser = process.getuid?.() === 0 ? ['sudo', '-n', '-u', user, '--', ...argv] : argv;
  let result: Awaited<ReturnType<Exec>>;
  try {
    result = await exec(asUser);
  } catch {
    result = { exitCode: 127, stdout: '', stderr: 'node: not found' };
  }
  if (result.exitCode !== 0)
    return fail(
      name,
      `${user} finds no node on its PATH (${result.stderr.trim().split('\n')[0] ?? ''})`,
      NODE_INSTALL_HINT,
    );
  const version = parseNodeVersion(result.stdout);
  if (!version)
    return fail(name, `node --version said ${JSON.stringify(result.stdout.trim())}`, NODE_INSTALL_HINT);
  const shown = `v${version.join('.')}`;
  return nodeVersionSuffices(version)
    ? ok(name, `${shown} for ${user} (the drivers need >= ${MIN_NODE_VERSION.join('.')})`)
    : fail(
        name,
        `${shown} for ${user} is too old: the drivers need >= ${MIN_NODE_VERSION.join('.')}`,
        NODE_INSTALL_HINT,
      );
}
