import type { Exec } from '../exec.js';
import { type CheckResult, fail, ok } from './check.js';

/**
 * The SSH settings of the TM driver's configuration (`gfs2clvm.conf`, KEY=VALUE lines as driver-runtime
 * reads them): doctor reaches the hosts with what the driver will use, not with its own guesses.
 */
export interface DriverSshSettings {
  /** `SSH_USER`: the user on the hosts (unset: ssh_config's `User`, else the local user). */
  user?: string;
  /** `SSH_CONFIG`: an ssh_config file (Host aliases, HostName, Port, IdentityFile). */
  config?: string;
  /** `SSH_KNOWN_HOSTS`: the known_hosts file host keys are checked against. */
  knownHosts?: string;
  /** `SSH_IDENTITY`: private keys. */
  identities: string[];
  /** `SSH_HOST_KEY_POLICY`: strict (default) | accept-new | insecure. */
  hostKeyPolicy: 'strict' | 'accept-new' | 'insecure';
  /** `SSH_CONNECT_TIMEOUT` in seconds (default 20). */
  connectTimeoutSeconds: number;
}

export const DEFAULT_SSH_SETTINGS: DriverSshSettings = {
  identities: [],
  hostKeyPolicy: 'strict',
  connectTimeoutSeconds: 20,
};

const unquote = (value: string) =>
  value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]
    ? value.slice(1, -1)
    : value;

/**
 * The SSH keys of a driver configuration text; other keys are ignored (driver-runtime checks them), and so
 * are lines that are not KEY=VALUE. Throws a one-line Error for an SSH value driver-runtime would refuse.
 */
export function driverSshSettings(text: string): DriverSshSettings {
  const settings: DriverSshSettings = { ...DEFAULT_SSH_SETTINGS, identities: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const match = /^(SSH_[A-Z_]+)\s*=(.*)$/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    const [key, value] = [match[1], unquote(match[2].trim())];
    const absolute = (path: string) => {
      if (!path.startsWith('/')) throw new Error(`${key}=${path}: not an absolute path`);
      return path;
    };
    if (key === 'SSH_USER') settings.user = value;
    else if (key === 'SSH_CONFIG') settings.config = absolute(value);
    else if (key === 'SSH_KNOWN_HOSTS') settings.knownHosts = absolute(value);
    else if (key === 'SSH_IDENTITY')
      settings.identities = value
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(absolute);
    else if (key === 'SSH_HOST_KEY_POLICY') {
      if (value !== 'strict' && value !== 'accept-new' && value !== 'insecure')
        throw new Error(`${key}=${value}: not one of strict, accept-new, insecure`);
      settings.hostKeyPolicy = value;
    } else if (key === 'SSH_CONNECT_TIMEOUT') {
      if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new Error(`${key}=${value}: not a positive integer`);
      settings.connectTimeoutSeconds = Number(value);
    }
  }
  return settings;
}

/** `ssh … -- <host> true` with the driver's settings; never a prompt (BatchMode). */
export function sshCheckArgv(host: string, settings: DriverSshSettings): string[] {
  const strict = { strict: 'yes', 'accept-new': 'accept-new', insecure: 'no' }[settings.hostKeyPolicy];
  return [
    'ssh',
    ...(settings.config ? ['-F', settings.config] : []),
    '-o',
    'BatchMode=yes',
    '-o',
    `StrictHostKeyChecking=${strict}`,
    ...(settings.knownHosts ? ['-o', `UserKnownHostsFile=${settings.knownHosts}`] : []),
    '-o',
    `ConnectTimeout=${settings.connectTimeoutSeconds}`,
    ...settings.identities.flatMap((identity) => ['-i', identity]),
    ...(settings.user ? ['-l', settings.user] : []),
    '--',
    host,
    'true',
  ];
}

/** What to do about a failed `ssh <host> true`, judged by OpenSSH's last words. */
export function sshFailureFix(stderr: string, host: string, localUser: string): string {
  if (
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/.test(stderr)
  )
    return `check ${host}'s host key fingerprint, then add it to the known_hosts the driver uses (SSH_KNOWN_HOSTS; as ${localUser}: ssh ${host} true, and answer yes)`;
  if (/Permission denied|Too many authentication failures/.test(stderr))
    return `authorise ${localUser}'s key on ${host} (as ${localUser}: ssh-copy-id ${host}; or SSH_IDENTITY in gfs2clvm.conf)`;
  if (/Could not resolve hostname|Name or service not known/.test(stderr))
    return `make ${host} resolvable from the front-end (DNS, /etc/hosts, or a Host entry in the SSH_CONFIG file)`;
  if (/Connection refused|timed out|No route to host|Network is unreachable|Connection closed/.test(stderr))
    return `check that ${host} is up, that sshd runs there, and that its port is reachable from the front-end`;
  return `as ${localUser}, run ssh ${host} true and fix what it says`;
}

/** The drivers reach every host over SSH as `localUser`, without a password or a host-key prompt. */
export async function checkSsh(
  exec: Exec,
  localUser: string,
  host: string,
  settings: DriverSshSettings = DEFAULT_SSH_SETTINGS,
): Promise<CheckResult> {
  const ssh = sshCheckArgv(host, settings);
  // Doctor runs as root: the check must be made as the user oned runs the drivers as.
  const argv = process.getuid?.() === 0 ? ['sudo', '-n', '-u', localUser, '--', ...ssh] : ssh;
  const name = `ssh ${host}`;
  let result: Awaited<ReturnType<Exec>>;
  try {
    result = await exec(argv, { timeoutMs: (settings.connectTimeoutSeconds + 20) * 1000 });
  } catch (error) {
    return fail(name, (error as Error).message.split('\n')[0] ?? '', 'install openssh-client and sudo');
  }
  const remote = settings.user ? `${settings.user}@${host}` : host;
  if (result.exitCode === 0) return ok(name, `${localUser} reaches ${remote} without a password`);
  const last =
    result.stderr
      .trim()
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .at(-1) ?? `exit ${result.exitCode}`;
  return fail(
    name,
    `${localUser} cannot reach ${remote}: ${last}`,
    sshFailureFix(result.stderr, host, localUser),
  );
}
