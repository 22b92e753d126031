import { writeFile } from 'node:fs/promises';
import type { TestbedUser } from './cluster.js';
import { TestbedError } from './errors.js';

/** What an ssh_config entry of a testbed host needs (a `TestbedHost` has it). */
export interface SshConfigHost {
  name: string;
  sshPort: number;
  identityFile: string;
}

export interface SshConfigOptions {
  /** The `User` of every entry (default root). */
  user?: TestbedUser;
  /** Text appended as is after the hosts' entries (more `Host` blocks of a test's own). */
  extra?: string;
}

/** Words written into the file as they are: no blanks, quotes, `#`, `%` tokens or control characters. */
const WORD = /^[\w./+@:=,-]+$/;

/**
 * An OpenSSH client configuration that reaches each testbed host by its name (`Host node1` →
 * `127.0.0.1` on its forwarded port, with the testbed's key): what the drivers' `SSH_CONFIG` points
 * at in tests and the demo. Names and paths that would break the file's syntax are refused.
 */
export function sshConfigText(hosts: readonly SshConfigHost[], options: SshConfigOptions = {}): string {
  const user = options.user ?? 'root';
  const entries = hosts.map((h) => {
    for (const [what, value] of [
      ['host name', h.name],
      ['identity file', h.identityFile],
      ['user', user],
    ] as const)
      if (!WORD.test(value))
        throw new TestbedError(
          'INVALID_ARGUMENT',
          `ssh_config: ${what} ${JSON.stringify(value)} cannot be written`,
        );
    if (!Number.isInteger(h.sshPort) || h.sshPort < 1 || h.sshPort > 65_535)
      throw new TestbedError(
        'INVALID_ARGUMENT',
        `ssh_config: port ${h.sshPort} of ${h.name} is not a TCP port`,
      );
    return `Host ${h.name}\n  HostName 127.0.0.1\n  Port ${h.sshPort}\n  User ${user}\n  IdentityFile ${h.identityFile}\n`;
  });
  return entries.join('') + (options.extra ?? '');
}

/** Writes `sshConfigText` of the cluster's hosts to `file` (nothing is written when it throws). */
export async function writeSshConfig(
  cluster: { hosts: readonly SshConfigHost[] },
  file: string,
  options: SshConfigOptions = {},
): Promise<void> {
  await writeFile(file, sshConfigText(cluster.hosts, options));
}
