import { RemoteError } from './errors.js';

/** What a failed connection attempt was about, for a message an operator can act on. */
export interface ConnectAttempt {
  host: string;
  user: string;
  hostname: string;
  port: number;
  connectTimeoutMs: number;
  /** Key files that existed and were offered. */
  identities: readonly string[];
  /** `SSH_AUTH_SOCK`, when an agent was offered. */
  agent: string | undefined;
}

/** An ssh2 client error: `level` says which stage failed, `code` is the socket errno. */
export type Ssh2Error = Error & { level?: string; code?: string };

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EPIPE',
]);

export function describeTarget(attempt: Pick<ConnectAttempt, 'host' | 'user' | 'hostname' | 'port'>): string {
  return `${attempt.host} (${attempt.user}@${attempt.hostname}:${attempt.port})`;
}

/**
 * Maps an ssh2 connection error to `AUTH_FAILED` or `UNREACHABLE` (host-key refusals are decided
 * by the verifier itself and come in as `hostKeyError`, which wins: ssh2 reports them as a generic
 * handshake failure). Pure, so the mapping is table-tested.
 */
export function classifyConnectError(
  err: Ssh2Error,
  attempt: ConnectAttempt,
  hostKeyError: RemoteError | null = null,
): RemoteError {
  if (hostKeyError) return hostKeyError;
  const who = describeTarget(attempt);
  const details = { host: attempt.host, cause: err };
  if (err.level === 'client-authentication') {
    const tried = [...attempt.identities, ...(attempt.agent ? [`ssh-agent (${attempt.agent})`] : [])];
    return new RemoteError(
      'AUTH_FAILED',
      `${who}: authentication failed: ${tried.length > 0 ? `tried ${tried.join(', ')}` : 'no key file found and no ssh-agent'}; ` +
        `check that the public key is in ~${attempt.user}/.ssh/authorized_keys on ${attempt.hostname} and that the user is right`,
      details,
    );
  }
  if (err.level === 'client-timeout') {
    return new RemoteError(
      'UNREACHABLE',
      `${who}: unreachable: no SSH handshake within ${attempt.connectTimeoutMs} ms; ` +
        `check that the host is up and port ${attempt.port} is open`,
      details,
    );
  }
  if (err.code && SOCKET_CODES.has(err.code)) {
    return new RemoteError(
      'UNREACHABLE',
      `${who}: unreachable: ${err.code}; check that the host is up, sshd runs and listens on port ${attempt.port}`,
      details,
    );
  }
  // Protocol-level refusals: no common algorithm, a disconnect by the server, a closed socket.
  return new RemoteError(
    'UNREACHABLE',
    `${who}: SSH connection failed: ${err.message}; check that port ${attempt.port} is an SSH server and its sshd log`,
    details,
  );
}
