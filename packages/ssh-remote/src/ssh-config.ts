import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { RemoteError } from './errors.js';

/** Where and as whom to connect, after `~/.ssh/config` and defaults are applied. */
export interface SshTarget {
  /** The alias used in messages and looked up in the config's `Host` blocks. */
  host: string;
  hostname: string;
  port: number;
  user: string;
  /** Candidate private key files, in the order to try them (missing ones are skipped later). */
  identityFiles: string[];
}

export interface TargetOptions {
  host: string;
  hostname?: string;
  port?: number;
  user?: string;
  identityFiles?: string[];
  /** Default `~/.ssh/config`; a missing file is fine. */
  sshConfigFile?: string;
}

/** The keys OpenSSH tries when no IdentityFile is configured. */
const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * Explicit options win over `~/.ssh/config` (as command-line options do for `ssh`), which wins over
 * the defaults; this is how an OpenNebula admin's `HostName`/`Port`/`User`/`IdentityFile` for
 * `oneadmin` reach the drivers. `Match exec` is not evaluated: a library must not run shell
 * commands from a config file.
 */
export function resolveTarget(options: TargetOptions): SshTarget {
  const home = homedir();
  const configFile = options.sshConfigFile ?? join(home, '.ssh', 'config');
  const config = readSshConfig(configFile, options.host);
  const localUser = userInfo().username;
  const user = options.user ?? single(config.user) ?? localUser;
  const hostname =
    options.hostname ?? single(config.hostname)?.replaceAll('%h', options.host) ?? options.host;
  const portText = options.port === undefined ? single(config.port) : String(options.port);
  const port = portText === undefined ? 22 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RemoteError(
      'INVALID_ARGUMENT',
      `${options.host}: invalid SSH port ${JSON.stringify(portText)}`,
      {
        host: options.host,
      },
    );
  }
  const configured = options.identityFiles ?? list(config.identityfile);
  const identityFiles =
    configured.length > 0
      ? configured.map((f) => expandPath(f, { home, user, localUser, host: options.host, hostname }))
      : DEFAULT_IDENTITY_FILES.map((f) => join(home, '.ssh', f));
  return { host: options.host, hostname, port, user, identityFiles };
}

function readSshConfig(file: string, host: string): Record<string, string | string[]> {
  if (!existsSync(file)) return {};
  try {
    return SSHConfig.parse(readFileSync(file, 'utf8')).compute(host, { ignoreCase: true, matchExec: false });
  } catch (cause) {
    throw new RemoteError('INVALID_ARGUMENT', `cannot read SSH config ${file}: ${(cause as Error).message}`, {
      host,
      cause,
    });
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The `~` and `%` tokens ssh_config(5) allows in IdentityFile. */
export function expandPath(
  path: string,
  ctx: { home: string; user: string; localUser: string; host: string; hostname: string },
): string {
  const withHome = path === '~' || path.startsWith('~/') ? ctx.home + path.slice(1) : path;
  return withHome.replace(/%([%dhnru])/g, (_, token: string) => {
    switch (token) {
      case 'd':
        return ctx.home;
      case 'h':
        return ctx.hostname;
      case 'n':
        return ctx.host;
      case 'r':
        return ctx.user;
      case 'u':
        return ctx.localUser;
      default:
        return '%';
    }
  });
}
