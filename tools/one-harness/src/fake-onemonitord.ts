import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { inflateSync } from 'node:zlib';
import { HarnessError } from './errors.js';

/**
 * A stand-in for onemonitord's UDP receiver, written from the spec (opennebula-backups §9): a
 * datagram is `<TYPE> <SUCCESS|FAILURE> <oid> <timestamp> <base64 of a zlib stream>`; a MONITOR_VM
 * payload holds `VM=[ID=<vm>,MONITOR="<base64>"]` entries whose MONITOR decodes (strictly: no inner
 * whitespace, as OpenSSL's EVP_DecodeBlock) to a template of `DISK_SIZE=[ID=…,SIZE=…]` and
 * `SNAPSHOT_SIZE=[ID=…,DISK_ID=…,SIZE=…]`. Anything else is a `HarnessError` `INVALID_ARGUMENT`.
 */

export interface MonitorMessage {
  type: string;
  result: string;
  oid: number;
  timestamp: number;
  payload: string;
}

export interface VmDiskMonitor {
  disks: { id: number; sizeMb: number }[];
  snapshots: { id: number; diskId: number; sizeMb: number }[];
}

const bad = (message: string) => new HarnessError('INVALID_ARGUMENT', message);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function strictBase64(text: string, what: string): Buffer {
  if (!BASE64.test(text)) throw bad(`${what} is not one base64 blob`);
  return Buffer.from(text, 'base64');
}

/** Decodes one datagram: five words, the last base64(zlib(payload)). */
export function parseMonitorMessage(datagram: string): MonitorMessage {
  const words = datagram.replace(/\n$/, '').split(' ');
  if (words.length !== 5) throw bad(`a monitor message has 5 words, not ${words.length}`);
  const [type, result, oid, timestamp, blob] = words as [string, string, string, string, string];
  if (!/^[A-Z_]+$/.test(type) || !['SUCCESS', 'FAILURE'].includes(result)) throw bad('bad message header');
  if (!/^-?[0-9]+$/.test(oid) || !/^[0-9]+$/.test(timestamp)) throw bad('bad oid or timestamp');
  let payload: string;
  try {
    payload = inflateSync(strictBase64(blob, 'the payload')).toString('utf8');
  } catch (error) {
    throw HarnessError.isInstance(error) ? error : bad('the payload is not a zlib stream');
  }
  return { type, result, oid: Number(oid), timestamp: Number(timestamp), payload };
}

/** `KEY=[A=1,B=2]` vectors named `key` in a template, as records of their numeric attributes. */
function vectors(template: string, key: string): Record<string, number>[] {
  const found: Record<string, number>[] = [];
  for (const match of template.matchAll(new RegExp(`(?:^|\\s)${key}\\s*=\\s*\\[([^\\]]*)\\]`, 'g'))) {
    const record: Record<string, number> = {};
    for (const pair of (match[1] ?? '').split(',')) {
      const [name, value] = pair.split('=').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
      if (!name || value === undefined || !/^[0-9]+$/.test(value)) throw bad(`${key}: bad attribute ${pair}`);
      record[name] = Number(value);
    }
    found.push(record);
  }
  return found;
}

/** The MONITOR template of one VM: its DISK_SIZE and SNAPSHOT_SIZE vectors. */
export function parseVmDiskMonitor(template: string): VmDiskMonitor {
  return {
    disks: vectors(template, 'DISK_SIZE').map((v) => ({ id: need(v, 'ID'), sizeMb: need(v, 'SIZE') })),
    snapshots: vectors(template, 'SNAPSHOT_SIZE').map((v) => ({
      id: need(v, 'ID'),
      diskId: need(v, 'DISK_ID'),
      sizeMb: need(v, 'SIZE'),
    })),
  };
}

function need(record: Record<string, number>, name: string): number {
  const value = record[name];
  if (value === undefined) throw bad(`missing ${name}`);
  return value;
}

/** A MONITOR_VM payload: `VM=[ID=…,MONITOR="…"]` entries → per VM id its decoded disk sizes. */
export function parseMonitorVmPayload(payload: string): Map<number, VmDiskMonitor> {
  const vms = new Map<number, VmDiskMonitor>();
  const entry = /VM\s*=\s*\[\s*ID\s*=\s*"?([0-9]+)"?\s*,\s*MONITOR\s*=\s*"([^"]*)"\s*\]/g;
  const rest = payload.replace(entry, '').trim();
  if (rest !== '') throw bad(`not a VM=[ID=…,MONITOR="…"] entry: ${rest.slice(0, 60)}`);
  for (const [, id, monitor] of payload.matchAll(entry)) {
    const parsed = parseVmDiskMonitor(strictBase64(monitor ?? '', `VM ${id} MONITOR`).toString('utf8'));
    const known = vms.get(Number(id));
    vms.set(
      Number(id),
      known
        ? { disks: [...known.disks, ...parsed.disks], snapshots: [...known.snapshots, ...parsed.snapshots] }
        : parsed,
    );
  }
  return vms;
}

/** A UDP listener on 127.0.0.1 that keeps every datagram it receives. */
export interface FakeOnemonitord {
  port: number;
  datagrams: string[];
  /** Every received MONITOR_VM message parsed and merged per VM (throws on anything malformed). */
  vms(): Map<number, VmDiskMonitor>;
  /** Resolves once `count` datagrams arrived (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeOnemonitord(): Promise<FakeOnemonitord> {
  const socket: Socket = createSocket('udp4');
  const datagrams: string[] = [];
  socket.on('message', (message) => datagrams.push(message.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: (socket.address() as AddressInfo).port,
    datagrams,
    vms: () => mergeVms(datagrams),
    waitFor: async (count, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (datagrams.length < count) {
        if (Date.now() > deadline) throw bad(`${datagrams.length} datagrams, not ${count}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function mergeVms(datagrams: readonly string[]): Map<number, VmDiskMonitor> {
  const all = new Map<number, VmDiskMonitor>();
  for (const datagram of datagrams) {
    const message = parseMonitorMessage(datagram);
    if (message.type !== 'MONITOR_VM') throw bad(`unexpected ${message.type}`);
    for (const [id, vm] of parseMonitorVmPayload(message.payload)) {
      const known = all.get(id);
      all.set(
        id,
        known
          ? { disks: [...known.disks, ...vm.disks], snapshots: [...known.snapshots, ...vm.snapshots] }
          : vm,
      );
    }
  }
  return all;
}
