import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { deflateSync } from 'node:zlib';
import { DriverError } from './errors.js';
import { encryptMonitorPayload } from './monitord-key.js';

/**
 * Messages to OpenNebula's onemonitord (the UDP side channel `send_to_monitor` of
 * scripts_common.sh uses; spec opennebula-backups §9). A datagram is one line
 * `<TYPE> SUCCESS <oid> <timestamp> <base64(zlib(payload))>`; monitord.conf's NETWORK section says
 * where it goes (MONITOR_ADDRESS, `auto` = 127.0.0.1; PORT) and whether the payload is RSA-encrypted
 * first (PUBKEY: the key file, see monitord-key.ts).
 */

export const DEFAULT_MONITORD_CONF = '/etc/one/monitord.conf';

/** Where onemonitord listens, from monitord.conf. */
export interface MonitordTarget {
  address: string;
  port: number;
  /** PUBKEY: the path of the public key file payloads are encrypted with ('' = not encrypted). */
  pubkey: string;
}

/** The value of `key` inside monitord.conf's `NETWORK = [ … ]` section, quotes removed. */
function networkValue(section: string, key: string): string | undefined {
  const match = new RegExp(`(?:^|[\\s,\\[])${key}\\s*=\\s*("[^"]*"|[^,\\s\\]]*)`).exec(section);
  const raw = match?.[1];
  return raw === undefined ? undefined : raw.replace(/^"(.*)"$/, '$1').trim();
}

/** Parses monitord.conf; a bad MONITOR_ADDRESS or PORT is a `CONFIG` error naming it. */
export function parseMonitordConf(text: string, source = 'monitord.conf'): MonitordTarget {
  const lines = text.split('\n').filter((line) => !line.trimStart().startsWith('#'));
  const section = /(?:^|\n)\s*NETWORK\s*=\s*\[([^\]]*)\]/.exec(lines.join('\n'))?.[1];
  if (section === undefined) throw new DriverError('CONFIG', `${source}: no NETWORK = [ … ] section`);
  const rawAddress = networkValue(section, 'MONITOR_ADDRESS') ?? 'auto';
  const address = rawAddress === '' || rawAddress === 'auto' ? '127.0.0.1' : rawAddress;
  if (isIP(address) === 0 && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(address))
    throw new DriverError(
      'CONFIG',
      `${source}: MONITOR_ADDRESS ${JSON.stringify(rawAddress)} is not an address`,
    );
  const rawPort = networkValue(section, 'PORT') ?? '4124';
  const port = Number(rawPort);
  if (!/^[0-9]{1,5}$/.test(rawPort) || port < 1 || port > 65535)
    throw new DriverError('CONFIG', `${source}: PORT ${JSON.stringify(rawPort)} is not a UDP port`);
  return { address, port, pubkey: networkValue(section, 'PUBKEY') ?? '' };
}

/** Reads monitord.conf; `null` when it does not exist (OpenNebula then sends nothing either). */
export function readMonitordConf(path: string): MonitordTarget | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DriverError('CONFIG', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseMonitordConf(text, path);
}

/**
 * One datagram: `<type> SUCCESS -1 0 <body>` (oid −1 has timestamp 0), the body
 * base64(zlib(payload)), or with a public key (PEM text) base64(zlib(RSA blocks of payload)).
 */
export function monitorDatagram(type: string, payload: string, pubkeyPem = ''): string {
  const data = pubkeyPem === '' ? Buffer.from(payload, 'utf8') : encryptMonitorPayload(payload, pubkeyPem);
  return `${type} SUCCESS -1 0 ${deflateSync(data).toString('base64')}`;
}

/** The largest datagram sent: under UDP's 65507-byte limit, with room to spare. */
export const MAX_DATAGRAM_BYTES = 60_000;

export interface DatagramOptions {
  /** Largest datagram, default MAX_DATAGRAM_BYTES. */
  maxBytes?: number;
  /** PEM public key to encrypt each payload with ('' or absent = not encrypted). */
  pubkeyPem?: string;
}

/**
 * Datagrams carrying `entries` (one payload line each, e.g. `VM=[…]`): all in one when it fits in
 * `maxBytes`, else split in halves until every part fits. An entry that alone does not fit is a
 * `INVALID_ARGUMENT` error (never truncated).
 */
export function monitorDatagrams(
  type: string,
  entries: readonly string[],
  options: DatagramOptions = {},
): string[] {
  const maxBytes = options.maxBytes ?? MAX_DATAGRAM_BYTES;
  if (entries.length === 0) return [];
  const whole = monitorDatagram(type, entries.join('\n'), options.pubkeyPem);
  if (Buffer.byteLength(whole) <= maxBytes) return [whole];
  if (entries.length === 1)
    throw new DriverError(
      'INVALID_ARGUMENT',
      `a ${type} entry needs ${Buffer.byteLength(whole)} bytes, over ${maxBytes}`,
    );
  const half = Math.ceil(entries.length / 2);
  return [
    ...monitorDatagrams(type, entries.slice(0, half), options),
    ...monitorDatagrams(type, entries.slice(half), options),
  ];
}

/** Sends each datagram to `target` over UDP (no answer: onemonitord does not acknowledge). */
export async function sendDatagrams(target: MonitordTarget, datagrams: readonly string[]): Promise<void> {
  if (datagrams.length === 0) return;
  const socket = createSocket(isIP(target.address) === 6 ? 'udp6' : 'udp4');
  try {
    for (const datagram of datagrams)
      await new Promise<void>((resolve, reject) =>
        socket.send(Buffer.from(datagram, 'utf8'), target.port, target.address, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
  } catch (error) {
    throw new DriverError(
      'EXEC',
      `sending to onemonitord at ${target.address}:${target.port}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    socket.close();
  }
}

/** A disk's size for DISK_SIZE (and its snapshots' for SNAPSHOT_SIZE), in MB. */
export interface DiskSize {
  diskId: number;
  sizeMb: number;
  snapshots: { snapId: number; sizeMb: number }[];
}

/**
 * `VM=[ID=<vm>,MONITOR="<base64>"]`: the base64 (one blob, no whitespace: onemonitord's decoder
 * refuses inner whitespace) of `DISK_SIZE=[ID=<disk>,SIZE=<MB>]` per disk and
 * `SNAPSHOT_SIZE=[ID=<snap>,DISK_ID=<disk>,SIZE=<MB>]` per snapshot.
 */
export function vmMonitorEntry(vmId: number, disks: readonly DiskSize[]): string {
  const lines: string[] = [];
  for (const disk of disks) {
    lines.push(`DISK_SIZE=[ID=${disk.diskId},SIZE=${disk.sizeMb}]`);
    for (const snap of disk.snapshots)
      lines.push(`SNAPSHOT_SIZE=[ID=${snap.snapId},DISK_ID=${disk.diskId},SIZE=${snap.sizeMb}]`);
  }
  return `VM=[ID=${vmId},MONITOR="${Buffer.from(lines.join('\n'), 'utf8').toString('base64')}"]`;
}
