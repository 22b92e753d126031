/**
 * Test helpers for the drivers' unit tests, without hosts: a fake cluster of hosts (`fakeHost`, a
 * `FakeRunner` each) answering LVM from a small shared LV model, GFS2 questions as a healthy,
 * writable GFS2 would, and `find` from a map of links; `pinner`, the run of one pinned case (its
 * configuration, oned, fake hosts) and its text. Both drivers' pinned tests run on them.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import {
  type BatchStep,
  batchScript,
  ENSURE_VM_DIR_AND_LINK_STEPS,
  ENSURE_VM_DIR_STEPS,
  emulateBatch,
  LINK_DISK_STEPS,
} from '@one-gfs2clvm/gfs2';
import { lvsRow } from '@one-gfs2clvm/lvm/testing';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import type { OneClient } from './one-client.js';
import type { RunActionOptions } from './run-driver-action.js';

const MiB = 2 ** 20;

/** One LV of the fake cluster. */
export interface FakeLv {
  sizeMiB: number;
  active?: boolean;
  tags?: string[];
}

function lvRow(vg: string, lv: string, spec: FakeLv) {
  const row = lvsRow(vg, lv, { sizeBytes: spec.sizeMiB * MiB, active: spec.active, tags: spec.tags });
  return { ...row, lv_metadata_size: '', vg_attr: 'wz--ns', vg_lock_type: 'sanlock' };
}

function vgRow(vg: string) {
  return {
    vg_name: vg,
    vg_uuid: 'Xq1bJ3-0000-0000-0000-0000-0000-000000',
    vg_attr: 'wz--ns',
    vg_size: String(10240 * MiB),
    vg_free: String(6144 * MiB),
    vg_extent_size: String(4 * MiB),
    vg_extent_count: '2560',
    vg_free_count: '1536',
    lv_count: '3',
    pv_count: '1',
    vg_lock_type: 'sanlock',
    vg_tags: '',
    vg_mda_size: '1044480',
    vg_mda_free: '520192',
  };
}

export type Answer = { stdout?: string; stderr?: string; exitCode?: number };
export type Rule = (argv: readonly string[]) => Answer | undefined;

/**
 * A host of the fake cluster: `lvs`/`vgs` answered from `lvs` (an LV not there: LVM's not-found
 * answer), `find`/`stat`-like questions by `rules`, every other command exit 0 without output.
 */
export function fakeHost(name: string, lvs: Record<string, FakeLv>, rules: Rule[] = []): FakeRunner {
  const fake = new FakeRunner({ host: name });
  const answer = (argv: readonly string[]): Answer => {
    for (const rule of [...rules, gfs2Rule]) {
      const found = rule(argv);
      if (found) return found;
    }
    return lvmAnswer(argv, lvs) ?? {};
  };
  fake.on(
    () => true,
    async (call) => {
      const steps = BATCHES.find((b) => call.argv[0] === 'sh' && batchScript(b) === call.argv[2]);
      if (!steps) return answer(call.argv);
      return emulateBatch(steps, call.argv.slice(4), async (argv) => {
        const { exitCode = 0, stdout = '', stderr = '' } = answer(argv);
        return { exitCode, stdout, stderr };
      });
    },
  );
  return fake;
}

/** The one-command batches of @one-gfs2clvm/gfs2, answered step by step like the shell would. */
const BATCHES: readonly (readonly BatchStep[])[] = [
  ENSURE_VM_DIR_AND_LINK_STEPS,
  ENSURE_VM_DIR_STEPS,
  LINK_DISK_STEPS,
];

/** The datastores are on a healthy, writable GFS2; the VM directory exists. */
const gfs2Rule: Rule = (argv) => {
  const command = argv.slice(0, 4).join(' ');
  if (command === 'stat -f -c %T') return { stdout: 'gfs/gfs2\n' };
  if (argv[0] === 'findmnt') {
    const fs = {
      target: '/var/lib/one/datastores',
      source: '/dev/mapper/vg--gfs2-lv',
      fstype: 'gfs2',
      options: 'rw,relatime',
      'maj:min': '253:3',
    };
    return { stdout: JSON.stringify({ filesystems: [fs] }) };
  }
  if (argv[0] === 'grep' && argv.includes('/sys/fs/gfs2'))
    return { stdout: '/sys/fs/gfs2/one:gfs2/id:253:3\n/sys/fs/gfs2/one:gfs2/withdraw:0\n' };
  if (command === 'stat -c %F --') return { stdout: 'directory\n' };
  return undefined;
};

/** LVM against the LV map, which commands change (create, remove, extend, (de)activate, tags). */
function lvmAnswer(argv: readonly string[], lvs: Record<string, FakeLv>): Answer | undefined {
  if (argv[0] !== 'lvm') return undefined;
  const target = argv[argv.length - 1] ?? '';
  const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const bytes = (size: string | undefined) => Number((size ?? '0').replace(/b$/, '')) / MiB;
  switch (argv[1]) {
    case 'vgs':
      return { stdout: JSON.stringify({ report: [{ vg: [vgRow(target)] }] }) };
    case 'lvcreate':
      lvs[`${target}/${opt('--name')}`] = {
        sizeMiB: bytes(opt('--size')),
        active: opt('--activate') === 'y',
      };
      return { stdout: '{}' };
    case 'lvremove':
      delete lvs[target];
      return { stdout: '{}' };
    case 'lvs':
      break;
    default:
      changeLv(argv, lvs[target], bytes(opt('--size')));
      return { stdout: '{}' };
  }
  const spec = lvs[target];
  if (!spec)
    return {
      exitCode: 5,
      stdout: JSON.stringify({ report: [{ lv: [] }] }),
      stderr: `  Failed to find logical volume "${target}"\n`,
    };
  const [vg, lv] = target.split('/') as [string, string];
  return { stdout: JSON.stringify({ report: [{ lv: [lvRow(vg, lv, spec)] }] }) };
}

function changeLv(argv: readonly string[], spec: FakeLv | undefined, sizeMiB: number): void {
  if (!spec) return;
  if (argv[1] === 'lvextend') spec.sizeMiB = sizeMiB;
  const activate = argv[argv.indexOf('--activate') + 1];
  if (argv.includes('--activate')) spec.active = activate !== 'n';
  argv.forEach((word, i) => {
    const tag = argv[i + 1] ?? '';
    if (word === '--addtag') spec.tags = [...(spec.tags ?? []), tag];
    if (word === '--deltag') spec.tags = (spec.tags ?? []).filter((t) => t !== tag);
  });
}

/** `find <path> -maxdepth 0 -printf %y\t%l\n` style answers: `links` maps paths to link targets. */
export const findRule =
  (links: Record<string, string>): Rule =>
  (argv) => {
    if (argv[0] !== 'find') return undefined;
    const path = argv[1] ?? '';
    if (argv.includes('-mindepth')) {
      const lines = Object.entries(links)
        .filter(([p]) => p.startsWith(`${path}/`))
        .map(([p, t]) => `${p.slice(path.length + 1)}\tl\t${t}\n`);
      return { stdout: lines.join('') };
    }
    const target = links[path];
    return target === undefined
      ? { exitCode: 1, stderr: `find: '${path}': No such file or directory\n` }
      : { stdout: `l\t${target}\n` };
  };

/** An action's stdout and stderr, kept: `text()` is what was written to each so far. */
export function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += String(c)));
  stderr.on('data', (c) => (err += String(c)));
  return { stdout, stderr, text: () => ({ out, err }) };
}

/** The configuration files of the pinned cases by name (`Case.config`; default `plain`). */
const PINNED_CONFIGS: Record<string, string> = {
  plain: 'FRONTEND_HOSTS=fe\nLVM_BACKEND=lvm\nLVM_PREFIX=lvm\nLOCK_MODE=lvmlockd\n',
  debug: 'FRONTEND_HOSTS=fe\nLVM_BACKEND=lvm\nLVM_PREFIX=lvm\nLOCK_MODE=lvmlockd\nDEBUG=yes\n',
  badBackend: 'LVM_BACKEND=zfs\n',
  badLockMode: 'LOCK_MODE=dlm-ish\n',
  badLine: 'FRONTEND_HOSTS=fe\nthis is not a setting\n',
  unknownKey: 'VG_NAM=vg-x\n',
};

/** One pinned case: an action run as oned runs it. */
export interface PinnedCase<One extends OneClient> {
  action: string;
  argv: string[];
  stdin?: string;
  /** A name of `PINNED_CONFIGS`: `plain`, `debug` (DEBUG=yes), `badBackend`, `badLockMode`, `badLine`, `unknownKey`. */
  config?: string;
  one?: One;
  /** Fake hosts by name; any other host is unreachable. */
  hosts?: () => Record<string, FakeRunner>;
}

/** A driver's `runAction`. */
type RunAction<One extends OneClient> = (
  name: string,
  argv: readonly string[],
  options: RunActionOptions<One>,
) => Promise<number>;

/**
 * The pinned text of a case: the action run by `runAction` (configuration files under `tmp`, the
 * case's oned else `oned()`, fake hosts), then what it was given and what it answered, with only
 * what varies run to run replaced. `aboutStdin` names a stdin the snapshot should not show as is.
 */
export function pinner<One extends OneClient>(
  tmp: string,
  runAction: RunAction<One>,
  oned: () => One,
  aboutStdin: (stdin: string) => string | undefined = () => undefined,
): (c: PinnedCase<One>) => Promise<string> {
  return async (c) => {
    const { stdout, stderr, text: written } = capture();
    const hosts = c.hosts?.() ?? {};
    const exit = await runAction(c.action, c.argv, {
      stdin: Readable.from(c.stdin === undefined ? [] : [c.stdin]),
      stdout,
      stderr,
      configPath: configPath(tmp, c.config ?? 'plain'),
      one: c.one ?? oned(),
      // A host the case does not set up is down: every command fails as UNREACHABLE.
      connect: (host) => hosts[host] ?? new FakeRunner({ host }).failNext(1000, 'UNREACHABLE'),
    });
    const { out, err } = written();
    const text = [
      `action: ${c.action}`,
      `argv: ${JSON.stringify(c.argv)}`,
      ...(c.stdin === undefined ? [] : [`stdin: ${aboutStdin(c.stdin) ?? JSON.stringify(c.stdin)}`]),
      `config: ${c.config ?? 'plain'}`,
      `exit: ${exit}`,
      '--- stdout',
      out,
      '--- stderr',
      err,
    ].join('\n');
    return normalise(text, tmp);
  };
}

/** The configuration file `name` under `tmp`, written like the shims find it (with its own LOCK_DIR). */
function configPath(tmp: string, name: string): string {
  const dir = join(tmp, name);
  const file = join(dir, 'gfs2clvm.conf');
  mkdirSync(join(dir, 'lock'), { recursive: true });
  writeFileSync(file, `${PINNED_CONFIGS[name]}LOCK_DIR=${join(dir, 'lock')}\n`);
  return file;
}

/** The only replaces: what varies run to run. */
function normalise(text: string, tmp: string): string {
  return text
    .replaceAll(tmp, '<tmp>')
    .replace(/ in \d+(\.\d+)? ms/g, ' in … ms')
    .replace(/ took \d+(\.\d+)? s\b/g, ' took … s')
    .replace(/\.[0-9a-f]{12}\.tmp\b/g, '.<random>.tmp')
    .replace(/ {2,}at .*$/gm, ' at …');
}

/** A oned that must not be asked: every call throws, naming what was asked (the refusals come first). */
export const noOned: OneClient = {
  vm: async () => {
    throw new Error('no oned in this test (asked: vm)');
  },
  datastore: async () => {
    throw new Error('no oned in this test (asked: datastore)');
  },
  hosts: async () => {
    throw new Error('no oned in this test (asked: hosts)');
  },
};
