import { type Runner, SshRunner } from '@one-gfs2clvm/ssh-remote';
import type { Exec } from './exec.js';

/** An `Exec` over a runner: every command completes with its exit code (a remote 127 = not found). */
export function runnerExec(runner: Runner): Exec {
  return async (argv, options = {}) => {
    const result = await runner.run(argv, {
      reject: false,
      timeoutMs: options.timeoutMs ?? 120_000,
      ...(options.input === undefined ? {} : { stdin: options.input }),
    });
    return { exitCode: result.exitCode ?? 128, stdout: result.stdout, stderr: result.stderr };
  };
}

export interface SshOptions {
  user?: string;
  sshConfigFile?: string;
  knownHostsFile?: string;
}

/** A runner to `host` as `user`, strict host-key checking, honouring ~/.ssh/config (or the given file). */
export function sshRunner(host: string, options: SshOptions): Runner {
  return new SshRunner({
    host,
    ...(options.user ? { user: options.user } : {}),
    ...(options.sshConfigFile ? { sshConfigFile: options.sshConfigFile } : {}),
    ...(options.knownHostsFile ? { knownHostsFile: options.knownHostsFile } : {}),
  });
}
