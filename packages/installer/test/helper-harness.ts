import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assetPath } from '../src/assets.js';

/**
 * The helper with its fixed program paths pointed at fakes in a scratch directory. The installed
 * helper reads no path from its caller; only this copy is changed, line by line, and a test
 * asserts that each substituted line exists (so the substitution cannot silently miss).
 */
export interface HelperSandbox {
  dir: string;
  /** Runs the helper copy with `args`; `env` replaces the default environment (`PATH=/usr/bin:/bin`). */
  run(
    args: readonly string[],
    env?: Record<string, string>,
  ): { status: number | null; stdout: string; stderr: string };
  /** The environment the fake lvm last ran with. */
  lvmEnv(): Record<string, string>;
  /** Every LVM call the helper made, as argv arrays (without the lvm program itself). */
  calls(): string[][];
  /** Sets the fake LVM's version the way an upgrade does (a new program renamed into place). */
  setLvmVersion(version: string): void;
  /** Where this copy of the helper keeps LVM's capabilities (CAPS). */
  capsFile: string;
  /** How many times the helper ran `lvm version`. */
  versionCalls(): number;
  /** What the fake lvm prints and how it exits, per LVM command (`lvs`, `lvcreate` …). */
  answer(command: string, answer: { stdout?: string; stderr?: string; exit?: number }): void;
  writeConf(text: string): void;
  cleanup(): void;
}

// The fake lvm lives in a directory of its own (sbin/), as LVM does: the helper's capability
// cache is checked against the program and its directory, and the state files below change often.
const FAKE_LVM = `#!/bin/sh
d=\${0%/sbin/lvm}
if [ "$1" = version ]; then echo >>"$d/versions"; printf '  LVM version:     %s(2) (2022-05-18)\\n' "$(cat "$d/version")"; exit 0; fi
{ for a in "$@"; do printf '%s\\037' "$a"; done; printf '\\n'; } >>"$d/calls"
env >"$d/env"
[ ! -f "$d/$1.stdout" ] || cat "$d/$1.stdout"
[ ! -f "$d/$1.stderr" ] || cat "$d/$1.stderr" >&2
exit "$(cat "$d/$1.exit" 2>/dev/null || echo 0)"
`;

export const SUBSTITUTED = ['LVM', 'BLKDISCARD', 'BLOCKDEV', 'DD', 'HOSTNAME', 'CONF', 'CAPS'] as const;

export function helperSandbox(): HelperSandbox {
  const dir = mkdtempSync(join(tmpdir(), 'one-gfs2clvm-helper-'));
  let script = readFileSync(assetPath('one-gfs2clvm-helper'), 'utf8');
  const fakes: Record<(typeof SUBSTITUTED)[number], string> = {
    LVM: join(dir, 'sbin', 'lvm'),
    BLKDISCARD: join(dir, 'blkdiscard'),
    BLOCKDEV: join(dir, 'blockdev'),
    DD: join(dir, 'dd'),
    HOSTNAME: join(dir, 'hostname'),
    CONF: join(dir, 'helper.conf'),
    CAPS: join(dir, 'run', 'lvm-capabilities'),
  };
  for (const [name, path] of Object.entries(fakes)) {
    const pattern = new RegExp(`^${name}=/[^\\n]*$`, 'm');
    if (!pattern.test(script)) throw new Error(`helper has no ${name}= line to substitute`);
    script = script.replace(pattern, `${name}=${path}`);
  }
  writeFileSync(join(dir, 'helper'), script, { mode: 0o755 });
  mkdirSync(join(dir, 'sbin'));
  writeFileSync(fakes.LVM, FAKE_LVM, { mode: 0o755 });
  writeFileSync(fakes.HOSTNAME, '#!/bin/sh\necho node1\n', { mode: 0o755 });
  writeFileSync(join(dir, 'version'), '2.03.16');
  return {
    dir,
    run(args, env = { PATH: '/usr/bin:/bin' }) {
      const result = spawnSync('/bin/sh', [join(dir, 'helper'), ...args], { encoding: 'utf8', env });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    calls() {
      const file = join(dir, 'calls');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\x1f').slice(0, -1));
    },
    lvmEnv() {
      const lines = readFileSync(join(dir, 'env'), 'utf8').split('\n').filter(Boolean);
      return Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
    },
    versionCalls() {
      const file = join(dir, 'versions');
      return existsSync(file) ? readFileSync(file, 'utf8').length : 0;
    },
    setLvmVersion(version) {
      writeFileSync(join(dir, 'version'), version);
      // As a package upgrade does: the new program renamed into place (its directory changes).
      writeFileSync(`${fakes.LVM}.new`, FAKE_LVM, { mode: 0o755 });
      renameSync(`${fakes.LVM}.new`, fakes.LVM);
    },
    capsFile: fakes.CAPS,
    answer(command, answer) {
      if (answer.stdout !== undefined) writeFileSync(join(dir, `${command}.stdout`), answer.stdout);
      if (answer.stderr !== undefined) writeFileSync(join(dir, `${command}.stderr`), answer.stderr);
      if (answer.exit !== undefined) writeFileSync(join(dir, `${command}.exit`), String(answer.exit));
      chmodSync(dir, 0o755);
    },
    writeConf(text) {
      writeFileSync(fakes.CONF, text);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
