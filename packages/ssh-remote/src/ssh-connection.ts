import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type ssh2 from 'ssh2';
import type { AgentAuthMethod, ClientChannel, ConnectConfig, PublicKeyAuthMethod } from 'ssh2';
import { ChannelSlots } from './channel-slots.js';
import {
  type ConnectAttempt,
  classifyConnectError,
  describeTarget,
  type Ssh2Error,
} from './connect-errors.js';
import { RemoteError } from './errors.js';
import {
  appendKnownHost,
  checkHostKey,
  hostKeyAlgorithmsFor,
  type KnownHostEntry,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  readKnownHosts,
} from './known-hosts.js';
import type { SshTarget } from './ssh-config.js';

export type HostKeyPolicy = 'strict' | 'accept-new' | 'insecure';

/** A command's session channel and, once the host sent it, how the command ended. */
export interface RemoteCommand {
  channel: ClientChannel;
  exit: { code: number; signal: null } | { code: null; signal: string } | null;
}

export interface ConnectionSettings {
  knownHostsFile?: string;
  hostKeyPolicy: HostKeyPolicy;
  keepaliveIntervalMs: number;
  connectTimeoutMs: number;
  maxChannels: number;
  warn: (message: string) => void;
}

/**
 * One SSH connection to one host, shared by every command of a runner: opened on first use,
 * reopened on the next use after it dropped, with at most `maxChannels` sessions open at once
 * (sshd refuses more than its `MaxSessions`, 10 by default); the rest wait in line.
 */
export class SshConnection {
  private client: ssh2.Client | null = null;
  private connecting: Promise<ssh2.Client> | null = null;
  private readonly slots: ChannelSlots;

  constructor(
    private readonly target: SshTarget,
    private readonly settings: ConnectionSettings,
  ) {
    this.slots = new ChannelSlots(settings.maxChannels);
  }

  /** An SSH connection is open (commands would not need to connect first). */
  get connected(): boolean {
    return this.client !== null;
  }

  /** Waits for a free channel slot; the returned function gives it back. */
  acquireSlot(signal?: AbortSignal): Promise<() => void> {
    return this.slots.acquire(signal);
  }

  /**
   * Opens a session channel running `command`. The connection is opened or reopened as needed,
   * unless `reconnect` is false (killing a command is pointless on a connection that is gone).
   */
  async exec(command: string, { reconnect = true } = {}): Promise<RemoteCommand> {
    let lastError: Error | undefined;
    // sshd frees a finished session only after its main loop has run, so a channel opened right after
    // another closed can briefly exceed MaxSessions (or MaxSessions is below maxChannels): retry with
    // backoff, 5 ms doubling to 1.3 s, about 2.5 s in all.
    const attempts = 10;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (!reconnect && !this.client) break;
      const client = await this.connect();
      try {
        return await openExec(client, command);
      } catch (err) {
        lastError = err as Error;
        if (this.client !== client || attempt === attempts - 1) break; // the connection went away, or give up
        await new Promise((resolve) => setTimeout(resolve, 5 * 2 ** attempt));
      }
    }
    throw new RemoteError(
      'CONNECTION_LOST',
      `${this.describe()}: could not open an SSH session: ${lastError?.message ?? 'not connected'}; ` +
        `sshd's MaxSessions may be lower than maxChannels (${this.settings.maxChannels})`,
      { host: this.target.host, cause: lastError },
    );
  }

  close(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.connecting = null;
    if (!client) return Promise.resolve();
    return new Promise((resolve) => {
      client.once('close', () => resolve());
      client.end();
      // A dead peer may never answer the disconnect; do not let close() hang on it.
      setTimeout(() => {
        client.destroy();
        resolve();
      }, 2000).unref();
    });
  }

  private connect(): Promise<ssh2.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().then(
      (client) => {
        this.client = client;
        this.connecting = null;
        client.once('close', () => {
          if (this.client === client) this.client = null;
        });
        return client;
      },
      (err: unknown) => {
        this.connecting = null;
        throw err;
      },
    );
    return this.connecting;
  }

  private describe(): string {
    return describeTarget(this.target);
  }

  private async open(): Promise<ssh2.Client> {
    // Loaded on the first connection, not at start-up: a driver action that answers without a host
    // (a usage error, an unsupported action) does not pay for ssh2. Only its client (see ssh2-client.d.ts).
    const { default: Client } = await import('ssh2/lib/client.js');
    const { target, settings } = this;
    const knownHostsFiles = settings.knownHostsFile
      ? [settings.knownHostsFile]
      : [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
    const lookupName = knownHostsName(target.hostname, target.port);
    const entries: KnownHostFileEntry[] = knownHostsFiles.flatMap((file) =>
      this.readConfigFile(file, readKnownHosts).map((e) => ({ ...e, file })),
    );
    const identities = target.identityFiles.filter((f) => existsSync(f));
    const agent = process.env.SSH_AUTH_SOCK;
    const authHandler: (AgentAuthMethod | PublicKeyAuthMethod)[] = [
      ...(agent ? [{ type: 'agent' as const, username: target.user, agent }] : []),
      ...identities.map((file) => ({
        type: 'publickey' as const,
        username: target.user,
        key: this.readConfigFile(file, (f) => readFileSync(f)),
      })),
    ];
    if (settings.hostKeyPolicy === 'insecure') {
      settings.warn(
        `ssh-remote: host key checking is OFF for ${this.describe()} (hostKeyPolicy 'insecure'): ` +
          'the connection is open to man-in-the-middle attacks',
      );
    }
    const hostKey: HostKeyVerdict = { error: null };
    // Ask for the key types known_hosts has for this host first, as OpenSSH does; otherwise the
    // server may pick a type we have no entry for and a known host would look unknown.
    const preferred = knownKeyTypes(entries, lookupName).flatMap(hostKeyAlgorithmsFor);
    const config: ConnectConfig = {
      host: target.hostname,
      port: target.port,
      username: target.user,
      authHandler,
      hostVerifier: (key: Buffer) => this.verifyHostKey(key, entries, knownHostsFiles, hostKey),
      keepaliveInterval: settings.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      readyTimeout: settings.connectTimeoutMs,
      ...(preferred.length > 0 ? { algorithms: { serverHostKey: { prepend: preferred } } } : {}),
    } as ConnectConfig;

    const attempt: ConnectAttempt = {
      ...target,
      connectTimeoutMs: settings.connectTimeoutMs,
      identities,
      agent,
    };
    return new Promise((resolve, reject) => {
      const client = new Client();
      let ready = false;
      client.on('ready', () => {
        ready = true;
        // Without it Nagle holds back the small packets of a command start (open, exec, EOF) until
        // the server's delayed ACK: +40 ms per command.
        client.setNoDelay(true);
        resolve(client);
      });
      client.on('error', (err: Ssh2Error) => {
        // A broken agent socket is reported but ssh2 goes on with the key files.
        if (err.level === 'agent') return;
        if (ready) return; // after `ready`, a drop shows up as `close` on the channels
        client.destroy();
        reject(classifyConnectError(err, attempt, hostKey.error));
      });
      client.on('close', () => {
        if (!ready) reject(classifyConnectError(new Error('connection closed'), attempt, hostKey.error));
      });
      client.connect(config);
    });
  }

  /**
   * ssh2's host verifier: the host's key against known_hosts under the host-key policy. A refused
   * key leaves the error that says why in `verdict` (ssh2 itself only reports a failed handshake).
   */
  private verifyHostKey(
    key: Buffer,
    entries: KnownHostFileEntry[],
    knownHostsFiles: string[],
    verdict: HostKeyVerdict,
  ): boolean {
    const { target, settings } = this;
    if (settings.hostKeyPolicy === 'insecure') return true;
    const lookupName = knownHostsName(target.hostname, target.port);
    const check = checkHostKey(entries, lookupName, key);
    if (check.status === 'match') return true;
    const presented = `${keyTypeOf(key)} key`;
    if (check.status === 'unknown') {
      if (settings.hostKeyPolicy === 'accept-new') {
        const file = knownHostsFiles[0] as string;
        appendKnownHost(file, lookupName, key);
        settings.warn(`ssh-remote: added ${presented} of ${lookupName} to ${file} (accept-new)`);
        return true;
      }
      verdict.error = new RemoteError(
        'HOST_KEY_UNKNOWN',
        `${this.describe()}: host key unknown: ${lookupName} is not in ${knownHostsFiles.join(' or ')}; ` +
          `check the ${presented} fingerprint and add it (ssh-keyscan -p ${target.port} ${target.hostname}), ` +
          `or connect once with hostKeyPolicy 'accept-new'`,
        { host: target.host },
      );
      return false;
    }
    const entry = check.entry as KnownHostFileEntry;
    const where = `${entry.file} line ${entry.line}`;
    verdict.error = new RemoteError(
      'HOST_KEY_MISMATCH',
      check.status === 'revoked'
        ? `${this.describe()}: the ${presented} offered is marked @revoked in ${where}; refusing to connect`
        : `${this.describe()}: host key does not match ${where}: possible man-in-the-middle attack; ` +
            `if the host was reinstalled, run: ssh-keygen -f ${entry.file} -R '${lookupName}'`,
      { host: target.host },
    );
    return false;
  }

  /** An unreadable known_hosts or key file (permissions, a directory) as one clear error. */
  private readConfigFile<T>(file: string, read: (file: string) => T): T {
    try {
      return read(file);
    } catch (cause) {
      throw new RemoteError(
        'INVALID_ARGUMENT',
        `${this.describe()}: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
        { host: this.target.host, cause },
      );
    }
  }
}

function openExec(client: ssh2.Client, command: string): Promise<RemoteCommand> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      const started: RemoteCommand = { channel, exit: null };
      // A fast command's whole answer can arrive in one read, and ssh2 emits `exit` in the same
      // tick as this callback: a listener added after `await` would miss it. Record it now.
      channel.once('exit', (code: number | null, signal?: string) => {
        started.exit =
          typeof code === 'number'
            ? { code, signal: null }
            : { code: null, signal: signal?.startsWith('SIG') ? signal : `SIG${signal ?? 'UNKNOWN'}` };
      });
      resolve(started);
    });
  });
}

/** A known_hosts line with the file it came from. */
type KnownHostFileEntry = KnownHostEntry & { file: string };

/** Why the host verifier refused the host's key, for the connection error. */
interface HostKeyVerdict {
  error: RemoteError | null;
}
