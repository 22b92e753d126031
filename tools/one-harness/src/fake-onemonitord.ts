import { constants, createPrivateKey, type KeyObject, privateDecrypt } from 'node:crypto';
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
 * Given the private key (monitord.conf's PRIKEY), it decrypts as onemonitord does (OpenNebula's
 * Message.h and SSLUtil.cc): after base64 and zlib, the bytes are RSA blocks of the modulus size,
 * each PKCS#1 v1.5, their plaintexts concatenated. Unlike onemonitord, which reads a message that
 * does not decrypt as plaintext, the fake refuses it: a wrong key is a clear failure.
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

/**
 * The plaintext of one RSA block after raw decryption: `00 02`, at least 8 non-zero padding bytes,
 * `00`, the message (PKCS#1 v1.5, RFC 8017 §7.2.2). Node refuses PKCS#1 v1.5 private decryption,
 * so the fake decrypts raw and checks the padding itself.
 */
function unpadPkcs1(block: Buffer, index: number): Buffer {
  const separator = block.indexOf(0, 2);
  if (block[0] !== 0 || block[1] !== 2 || separator < 10)
    throw bad(`RSA block ${index} is not PKCS#1 v1.5 padded: wrong private key, or not encrypted`);
  return block.subarray(separator + 1);
}

/**
 * One block decrypted without padding. A block sealed for another key can be larger than this
 * key's modulus, which OpenSSL refuses outright: that is the same failure as a bad padding.
 */
function rawDecrypt(key: KeyObject, block: Buffer, index: number): Buffer {
  try {
    return privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, block);
  } catch {
    throw bad(`RSA block ${index} is not PKCS#1 v1.5 padded: wrong private key, or not encrypted`);
  }
}

/** Decrypts `data` (concatenated RSA blocks of the key's modulus size) with a PEM private key. */
export function decryptMonitorPayload(data: Buffer, privateKeyPem: string): Buffer {
  const key = createPrivateKey(privateKeyPem);
  const size = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  if (data.length === 0 || data.length % size !== 0)
    throw bad(`${data.length} bytes are not whole ${size}-byte RSA blocks`);
  const plain: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) {
    plain.push(unpadPkcs1(rawDecrypt(key, data.subarray(at, at + size), at / size), at / size));
  }
  return Buffer.concat(plain);
}

/** Decodes one datagram: five words, the last base64(zlib(payload)), encrypted when a key is given. */
export function parseMonitorMessage(datagram: string, privateKeyPem?: string): MonitorMessage {
  const words = datagram.replace(/\n$/, '').split(' ');
  if (words.length !== 5) throw bad(`a monitor message has 5 words, not ${words.length}`);
  const [type, result, oid, timestamp, blob] = words as [string, string, string, string, string];
  if (!/^[A-Z_]+$/.test(type) || !['SUCCESS', 'FAILURE'].includes(result)) throw bad('bad message header');
  if (!/^-?[0-9]+$/.test(oid) || !/^[0-9]+$/.test(timestamp)) throw bad('bad oid or timestamp');
  let data: Buffer;
  try {
    data = inflateSync(strictBase64(blob, 'the payload'));
  } catch (error) {
    throw HarnessError.isInstance(error) ? error : bad('the payload is not a zlib stream');
  }
  if (privateKeyPem !== undefined) data = decryptMonitorPayload(data, privateKeyPem);
  return { type, result, oid: Number(oid), timestamp: Number(timestamp), payload: data.toString('utf8') };
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

export interface FakeOnemonitordOptions {
  /** PEM private key (PRIKEY): every message must be encrypted for it. */
  privateKeyPem?: string;
}

export async function startFakeOnemonitord(options: FakeOnemonitordOptions = {}): Promise<FakeOnemonitord> {
  const socket: Socket = createSocket('udp4');
  const datagrams: string[] = [];
  socket.on('message', (message) => datagrams.push(message.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: (socket.address() as AddressInfo).port,
    datagrams,
    vms: () => mergeVms(datagrams, options.privateKeyPem),
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

function mergeVms(datagrams: readonly string[], privateKeyPem?: string): Map<number, VmDiskMonitor> {
  const all = new Map<number, VmDiskMonitor>();
  for (const datagram of datagrams) {
    const message = parseMonitorMessage(datagram, privateKeyPem);
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
