import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  appendKnownHost,
  checkHostKey,
  hostFieldMatches,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
  readKnownHosts,
} from '../src/known-hosts.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-remote-kh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real ed25519 public key from ssh-keygen: [type, base64 blob]. */
function newKey(name: string): [string, string] {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  const [type, blob] = readFileSync(join(dir, `${name}.pub`), 'utf8').split(' ');
  return [type as string, blob as string];
}

const [type, blobA] = newKey('a');
const [, blobB] = newKey('b');
const keyA = Buffer.from(blobA, 'base64');
const keyB = Buffer.from(blobB, 'base64');

describe('knownHostsName', () => {
  test('port 22 is the bare name, others are [host]:port', () => {
    expect(knownHostsName('node1', 22)).toBe('node1');
    expect(knownHostsName('127.0.0.1', 2201)).toBe('[127.0.0.1]:2201');
  });
});

describe('parseKnownHosts', () => {
  test('reads markers, patterns and keys; skips comments, blanks and junk', () => {
    const entries = parseKnownHosts(
      [
        '# comment',
        '',
        `node1,10.0.0.1 ${type} ${blobA} root@node1`,
        `@revoked * ${type} ${blobB}`,
        '@cert-authority *.lan ssh-ed25519 AAAA',
        'truncated-line ssh-ed25519',
        `bad ${type} not*base64`,
      ].join('\n'),
    );
    expect(entries.map((e) => [e.line, e.marker, e.hosts])).toEqual([
      [3, null, 'node1,10.0.0.1'],
      [4, '@revoked', '*'],
      [5, '@cert-authority', '*.lan'],
    ]);
    expect(entries[0]?.key.equals(keyA)).toBe(true);
    expect(keyTypeOf(keyA)).toBe('ssh-ed25519');
  });
});

describe('hostFieldMatches', () => {
  test.each([
    ['node1', 'node1', true],
    ['NODE1', 'node1', true],
    ['node1,node2', 'node2', true],
    ['node*', 'node7', true],
    ['node?', 'node17', false],
    ['*,!node3', 'node3', false],
    ['*,!node3', 'node4', true],
    ['[127.0.0.1]:2201', '[127.0.0.1]:2201', true],
    ['[127.0.0.1]:2201', '127.0.0.1', false],
    ['127.0.0.1', '[127.0.0.1]:2201', false],
    ['node.1', 'nodex1', false],
  ])('%s covers %s: %s', (field, name, expected) => {
    expect(hostFieldMatches(field, name)).toBe(expected);
  });

  test('hashed entries written by ssh-keygen -H match by HMAC-SHA1', () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, `[127.0.0.1]:2201 ${type} ${blobA}\nnode1 ${type} ${blobB}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'pipe' });
    const entries = readKnownHosts(file);
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    expect(checkHostKey(entries, '[127.0.0.1]:2201', keyA).status).toBe('match');
    expect(checkHostKey(entries, 'node1', keyB).status).toBe('match');
    expect(checkHostKey(entries, 'node1', keyA).status).toBe('mismatch');
    expect(checkHostKey(entries, 'node2', keyA).status).toBe('unknown');
  });
});

describe('checkHostKey', () => {
  const entries = parseKnownHosts(`node1 ${type} ${blobA}\n@revoked node9 ${type} ${blobB}\n`);

  test('match, mismatch (with the line to fix), unknown', () => {
    expect(checkHostKey(entries, 'node1', keyA).status).toBe('match');
    const mismatch = checkHostKey(entries, 'node1', keyB);
    expect(mismatch.status).toBe('revoked');
    const other = parseKnownHosts(`x a b\nnode1 ${type} ${blobA}\n`);
    const check = checkHostKey(other, 'node1', keyB);
    expect(check).toMatchObject({ status: 'mismatch', entry: { line: 2 } });
    expect(checkHostKey(entries, 'node2', keyA).status).toBe('unknown');
  });

  test('a revoked key is refused even for a host it is listed for', () => {
    const list = parseKnownHosts(`node1 ${type} ${blobA}\n@revoked * ${type} ${blobA}\n`);
    expect(checkHostKey(list, 'node1', keyA).status).toBe('revoked');
  });

  test('knownKeyTypes lists the types known for the host', () => {
    expect(knownKeyTypes(entries, 'node1')).toEqual(['ssh-ed25519']);
    expect(knownKeyTypes(entries, 'nodeX')).toEqual([]);
  });
});

test('appendKnownHost writes a line ssh-keygen -F finds', () => {
  const file = join(dir, 'sub', 'known_hosts');
  appendKnownHost(file, '[10.1.2.3]:2222', keyA);
  appendKnownHost(file, 'node5', keyB);
  expect(readFileSync(file, 'utf8')).toBe(`[10.1.2.3]:2222 ${type} ${blobA}\nnode5 ${type} ${blobB}\n`);
  const found = execFileSync('ssh-keygen', ['-F', '[10.1.2.3]:2222', '-f', file]).toString();
  expect(found).toContain(blobA);
});
