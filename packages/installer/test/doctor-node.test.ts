import { describe, expect, it } from 'vitest';
import {
  checkNodeVersion,
  NODE_INSTALL_HINT,
  nodeVersionSuffices,
  parseNodeVersion,
} from '../src/doctor/node.js';
import { type Exec, localExec } from '../src/exec.js';

const answering =
  (answer: Awaited<ReturnType<Exec>>, ran: string[][] = []): Exec =>
  async (argv) => {
    ran.push([...argv]);
    return answer;
  };

describe('doctor --role frontend: the Node.js the drivers need', () => {
  it.each([
    ['v20.19.0', true],
    ['v20.20.2\n', true],
    ['v22.1.0', true],
    ['v20.18.3', false],
    ['v18.19.1', false],
    ['v8.99.99', false],
  ])('%j suffices: %s', (text, expected) => {
    const version = parseNodeVersion(text);
    expect(version).not.toBeNull();
    expect(nodeVersionSuffices(version ?? [])).toBe(expected);
  });

  it('reads nothing else as a version', () => {
    expect(parseNodeVersion('20.19.0')).toBeNull();
    expect(parseNodeVersion('v20.19')).toBeNull();
    expect(parseNodeVersion('')).toBeNull();
  });

  it("OK for this machine's node, asked as the user (through sudo -n -u when root)", async () => {
    const ran: string[][] = [];
    const result = await checkNodeVersion(async (argv, options) => {
      ran.push([...argv]);
      return localExec(argv, options);
    }, 'root');
    expect(result.status).toBe('OK');
    expect(result.detail).toBe(`${process.version} for root (the drivers need >= 20.19.0)`);
    expect(ran).toEqual([
      process.getuid?.() === 0
        ? ['sudo', '-n', '-u', 'root', '--', 'node', '--version']
        : ['node', '--version'],
    ]);
  });

  it("FAIL for Debian 12's own node 18, with how to get a newer one", async () => {
    const result = await checkNodeVersion(
      answering({ exitCode: 0, stdout: 'v18.19.0\n', stderr: '' }),
      'oneadmin',
    );
    expect(result).toEqual({
      status: 'FAIL',
      name: 'Node.js',
      detail: 'v18.19.0 for oneadmin is too old: the drivers need >= 20.19.0',
      fix: NODE_INSTALL_HINT,
    });
    expect(NODE_INSTALL_HINT).toMatch(
      /NodeSource.*Debian 13: apt-get install nodejs.*dnf module enable nodejs:20/,
    );
  });

  it('FAIL when the user finds no node', async () => {
    const result = await checkNodeVersion(
      answering({ exitCode: 1, stdout: '', stderr: 'sudo: node: command not found\n' }),
      'oneadmin',
    );
    expect(result.status).toBe('FAIL');
    expect(result.detail).toBe('oneadmin finds no node on its PATH (sudo: node: command not found)');
  });
});
