import { describe, expect, test } from 'vitest';
import { type ConnectAttempt, classifyConnectError, type Ssh2Error } from '../src/connect-errors.js';
import { RemoteError } from '../src/index.js';

const attempt: ConnectAttempt = {
  host: 'node1',
  user: 'oneadmin',
  hostname: '10.0.0.11',
  port: 2201,
  connectTimeoutMs: 20_000,
  identities: ['/var/lib/one/.ssh/id_rsa'],
  agent: undefined,
};

function ssh2Error(message: string, fields: { level?: string; code?: string }): Ssh2Error {
  return Object.assign(new Error(message), fields);
}

describe('classifyConnectError', () => {
  test.each(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET'])(
    'socket error %s → UNREACHABLE, retryable, naming host, user, address and port',
    (code) => {
      const err = classifyConnectError(
        ssh2Error(`connect ${code}`, { level: 'client-socket', code }),
        attempt,
      );
      expect(err.code).toBe('UNREACHABLE');
      expect(err.retryable).toBe(true);
      expect(err.host).toBe('node1');
      expect(err.message).toBe(
        `node1 (oneadmin@10.0.0.11:2201): unreachable: ${code}; check that the host is up, sshd runs and listens on port 2201`,
      );
    },
  );

  test('handshake timeout → UNREACHABLE with the limit', () => {
    const err = classifyConnectError(
      ssh2Error('Timed out while waiting for handshake', { level: 'client-timeout' }),
      attempt,
    );
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toMatch(/no SSH handshake within 20000 ms/);
  });

  test('authentication → AUTH_FAILED listing keys and agent, not retryable', () => {
    const err = classifyConnectError(
      ssh2Error('All configured authentication methods failed', { level: 'client-authentication' }),
      { ...attempt, agent: '/run/user/9869/agent.sock' },
    );
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(
      'node1 (oneadmin@10.0.0.11:2201): authentication failed: tried /var/lib/one/.ssh/id_rsa, ssh-agent (/run/user/9869/agent.sock); ' +
        'check that the public key is in ~oneadmin/.ssh/authorized_keys on 10.0.0.11 and that the user is right',
    );
  });

  test('authentication with nothing to offer says so', () => {
    const err = classifyConnectError(ssh2Error('x', { level: 'client-authentication' }), {
      ...attempt,
      identities: [],
    });
    expect(err.message).toMatch(/no key file found and no ssh-agent/);
  });

  test('a host key refusal wins over the generic handshake error ssh2 reports for it', () => {
    const hostKey = new RemoteError('HOST_KEY_MISMATCH', 'node1: host key does not match');
    const err = classifyConnectError(
      ssh2Error('Host denied (verification failed)', { level: 'handshake' }),
      attempt,
      hostKey,
    );
    expect(err).toBe(hostKey);
  });

  test('a protocol failure (not SSH, no common algorithm) → UNREACHABLE with the cause', () => {
    const err = classifyConnectError(
      ssh2Error('Handshake failed: no matching key exchange algorithm', { level: 'handshake' }),
      attempt,
    );
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toMatch(
      /SSH connection failed: Handshake failed: no matching key exchange algorithm; check that port 2201 is an SSH server/,
    );
    expect(err.cause).toBeInstanceOf(Error);
  });
});
