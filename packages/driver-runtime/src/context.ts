import type { Writable } from 'node:stream';
import type { DriverConfig } from './config.js';
import type { HostPool } from './hosts.js';
import type { Log } from './log.js';
import type { OneClient } from './one-client.js';

/** Everything an action of either driver needs; built once per process by `runDriverAction`. */
export interface ActionContext {
  action: string;
  config: DriverConfig;
  one: OneClient;
  hosts: HostPool;
  log: Log;
  /** The whole of stdin (TM pre/post/failmigrate: base64 VM XML; monitor: base64 DS data). */
  readStdin: () => Promise<string>;
  stdout: Writable;
}
