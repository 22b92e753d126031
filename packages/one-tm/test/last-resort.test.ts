import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  DEFAULTS,
  Log,
  lastResortLines,
  MAX_STDIN_BYTES,
  readStdinCapped,
  redactSecrets,
} from '@one-gfs2clvm/driver-runtime';
import { capture } from '@one-gfs2clvm/driver-runtime/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runAction } from '../src/dispatch.js';

const REMOTES = fileURLToPath(new URL('../dist/remotes/tm/gfs2clvm', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'one-tm-last-resort-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plainLines = (err: string) =>
  err.split('\n').filter((l) => l !== '' && !/^(ERROR|INFO|DEBUG):/.test(l));

describe('TM stdin is bounded like the DS payload (issue 14 item 6)', () => {
  it('a writer that never stops: one line, exit 1, reading stops just past the limit', async () => {
    let given = 0;
    const endless = new Readable({
      read() {
        given += 65536;
        this.push(Buffer.alloc(65536, 0x41));
      },
    });
    const io = capture();
    const code = await runAction('monitor', ['100'], {
      stdin: endless,
      stdout: io.stdout,
      stderr: io.stderr,
      configPath: '/nonexistent',
      config: { ...structuredClone(DEFAULTS), frontendHosts: ['fe'] },
      connect: (host) => {
        throw new Error(`no host ${host} in this test`);
      },
    });
    const { out, err } = io.text();
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(plainLines(err)).toEqual([
      `monitor: stdin over ${MAX_STDIN_BYTES} bytes (the payload limit): not read further`,
    ]);
    expect(err).toMatch(/^ERROR: monitor: TmError \[INVALID_ARGUMENT\]/m);
    expect(endless.destroyed).toBe(true);
    expect(given).toBeLessThan(MAX_STDIN_BYTES + 4 * 65536);
  }, 20_000);

  it('reads a payload of exactly the limit, refuses one byte more', async () => {
    await expect(
      readStdinCapped(Readable.from([Buffer.alloc(6), Buffer.alloc(4)]), 'x', 10),
    ).resolves.toHaveLength(10);
    await expect(readStdinCapped(Readable.from([Buffer.alloc(6), Buffer.alloc(5)]), 'x', 10)).rejects.toThrow(
      'x: stdin over 10 bytes (the payload limit): not read further',
    );
  });
});

describe('no secrets of a URL in any line (issue 14 item 4)', () => {
  const secretUrl = 'https://user:secret@images.example.com/p/disk.qcow2?token=abc&x=1#frag';

  it('redactSecrets keeps scheme, host and path, drops user information, query and fragment', () => {
    expect(redactSecrets(`PATH "${secretUrl}" failed`)).toBe(
      'PATH "https://…@images.example.com/p/disk.qcow2?…" failed',
    );
    expect(redactSecrets('download http://h:8080/a.img?X-Amz-Signature=s3cr3t: HTTP 403')).toBe(
      // The query runs to the next blank: the colon after it goes too.
      'download http://h:8080/a.img?… HTTP 403',
    );
    expect(redactSecrets('https:\\\\u:pw@h/x')).toBe('https:\\\\…@h/x');
    expect(redactSecrets('a@b@host: https://a@b@host/x')).toBe('a@b@host: https://…@host/x');
    expect(redactSecrets('/srv/images/a?b.img and lvm://7/0')).toBe('/srv/images/a?b.img and lvm://7/0');
    // A URL cut inside its password (a value shortened for a message): the authority goes.
    expect(redactSecrets('PATH "https://user:supersecr…" bad')).toBe('PATH "https://…" bad');
    expect(redactSecrets('http://h:8080/x http://[fd00::1]:80/y')).toBe(
      'http://h:8080/x http://[fd00::1]:80/y',
    );
  });

  it('every Log line is redacted', () => {
    const io = capture();
    const log = new Log(io.stderr, 'cp', { debug: true });
    log.info(`importing ${secretUrl}`);
    log.error(`failed ${secretUrl}`);
    log.debug(`argv ${secretUrl}`);
    const { err } = io.text();
    expect(err).not.toMatch(/secret|token=abc|frag/);
    expect(err.split('\n').filter((l) => l !== '')).toHaveLength(3);
  });

  it('the last resort line and its ERROR lines are redacted', () => {
    const lines = lastResortLines('cp', new Error(`boom at ${secretUrl}`));
    expect(lines.join('\n')).not.toMatch(/secret|token=abc/);
    expect(lines.at(-1)).toBe('cp: unexpected failure: boom at https://…@images.example.com/p/disk.qcow2?…');
  });
});

/**
 * The built action, as oned runs it, with an unexpected failure provoked from outside: a preloaded
 * module (`node --import`) that opens a missing file without an 'error' listener — the very shape
 * of the bug of issue 13 item 2 — or rejects a promise nobody awaits, while the action waits on stdin.
 */
async function runBuilt(
  failure: string,
  imports = '',
): Promise<{ status: number | null; stderr: string; stdout: string }> {
  const file = join(dir, `preload-${Math.random().toString(16).slice(2)}.mjs`);
  // Fails once the action has installed its last resort (loading the bundle takes a while).
  writeFileSync(
    file,
    `${imports}\nconst t = setInterval(() => {\n  if (process.listenerCount('unhandledRejection') === 0) return;\n  clearInterval(t);\n  ${failure};\n}, 20);\n`,
  );
  // stdin stays open (a pipe nobody writes to): the action would wait for ever without the failure.
  const child = spawn(process.execPath, ['--import', file, join(REMOTES, 'monitor'), '100'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GFS2CLVM_CONF: join(dir, 'none.conf') },
    timeout: 15_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += String(c)));
  child.stderr.on('data', (c) => (stderr += String(c)));
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stderr, stdout };
}

describe('the last resort of the built TM action (issue 13 item 2)', () => {
  it("an unhandled stream 'error' event: ERROR lines, one plain line, exit 1, no stack trace", async () => {
    const r = await runBuilt(
      "createReadStream('/nonexistent-3200/disk.img')",
      "import { createReadStream } from 'node:fs';",
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(plainLines(r.stderr)).toEqual([
      'monitor: open /nonexistent-3200/disk.img failed: no such file or directory',
    ]);
    expect(r.stderr).toMatch(/^ERROR: monitor: unexpected Error$/m);
    expect(r.stderr).not.toMatch(/node:events|Unhandled 'error' event/);
  });

  it('an unhandled rejection: the same, its message redacted', async () => {
    const r = await runBuilt("Promise.reject(new Error('boom https://u:secret@h/x?token=abc'))");
    expect(r.status).toBe(1);
    expect(plainLines(r.stderr)).toEqual(['monitor: unexpected failure: boom https://…@h/x?…']);
    expect(r.stderr).not.toMatch(/secret|token=abc/);
  });
});
