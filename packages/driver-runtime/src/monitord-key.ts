import { constants, createPublicKey, type KeyObject, publicEncrypt } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { DriverError } from './errors.js';

/**
 * RSA encryption of onemonitord messages when monitord.conf's NETWORK sets `PUBKEY` (README
 * "onemonitord messages"). As OpenNebula's agents do: the payload bytes in blocks of
 * (modulus bytes − 11), each block RSA-encrypted with PKCS#1 v1.5 padding, the ciphertexts
 * concatenated; compression (zlib) and base64 come after, on the ciphertext.
 */

/** PKCS#1 v1.5 padding takes 11 bytes of each RSA block. */
const PKCS1_OVERHEAD = 11;
/** A PEM public key is well under 4 KiB even at 16384 bits; more is not a key file. */
export const MAX_PUBKEY_BYTES = 16 * 1024;

const bad = (path: string, why: string) => new DriverError('CONFIG', `PUBKEY ${path}: ${why}`);

/** The RSA public key in `pem` (PKCS#1 `RSA PUBLIC KEY` or SPKI `PUBLIC KEY`), else `CONFIG`. */
export function monitordPublicKey(pem: string, source = 'PUBKEY'): KeyObject {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw new DriverError('CONFIG', `${source}: holds a private key; it must name the public one`);
  if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem))
    throw new DriverError('CONFIG', `${source}: is not a PEM public key`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new DriverError('CONFIG', `${source}: is not a PEM public key (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new DriverError('CONFIG', `${source}: is a ${key.asymmetricKeyType} key, not RSA`);
  return key;
}

/**
 * `payload` encrypted for onemonitord with the public key `pem`: blocks of (modulus bytes − 11)
 * bytes, each RSA PKCS#1 v1.5, concatenated (a multiple of the modulus size). Not compressed.
 */
export function encryptMonitorPayload(payload: string, pem: string): Buffer {
  const key = monitordPublicKey(pem);
  const blockBytes = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8 - PKCS1_OVERHEAD;
  const plain = Buffer.from(payload, 'utf8');
  const blocks: Buffer[] = [];
  for (let at = 0; at < plain.length; at += blockBytes)
    blocks.push(
      publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, plain.subarray(at, at + blockBytes)),
    );
  return Buffer.concat(blocks);
}

/**
 * The PEM text of the key file monitord.conf's PUBKEY names, checked (`CONFIG` error, one line,
 * otherwise): an absolute path without `..` (monitord.conf documents an absolute path; OpenNebula's
 * senders would resolve a relative one against whatever directory they run in), a regular file of
 * at most MAX_PUBKEY_BYTES, holding an RSA public key.
 */
export function readMonitordPubkey(path: string): string {
  if (!isAbsolute(path)) throw bad(path, 'must be an absolute path');
  if (path.split('/').includes('..')) throw bad(path, 'must not contain ".."');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new DriverError('CONFIG', `PUBKEY ${path}: cannot read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw bad(path, 'is not a regular file');
    if (stat.size === 0) throw bad(path, 'is empty');
    if (stat.size > MAX_PUBKEY_BYTES) throw bad(path, `is ${stat.size} bytes, over ${MAX_PUBKEY_BYTES}`);
    const buffer = Buffer.alloc(stat.size);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, stat.size, 0)).toString('utf8');
    monitordPublicKey(text, `PUBKEY ${path}`);
    return text;
  } finally {
    closeSync(fd);
  }
}
