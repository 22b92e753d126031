import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  buildLvmCommands,
  type Capabilities,
  helperReactivateBootArgv,
  type Operation,
} from '@one-gfs2clvm/lvm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assetPath } from '../src/assets.js';
import { type HelperSandbox, helperSandbox } from './helper-harness.js';

let box: HelperSandbox;
beforeEach(() => {
  box = helperSandbox();
});
afterEach(() => box.cleanup());

describe('the helper script', () => {
  it('has no shellcheck findings as POSIX sh', () => {
    const result = spawnSync('shellcheck', ['-s', 'sh', '-f', 'gcc', assetPath('one-gfs2clvm-helper')], {
      encoding: 'utf8',
    });
    expect(result.error, 'shellcheck must be installed (scripts/install-debian-packages.sh)').toBeUndefined();
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('fixes PATH and reads no program path from its environment', () => {
    const text = spawnSync('cat', [assetPath('one-gfs2clvm-helper')], { encoding: 'utf8' }).stdout;
    expect(text).toMatch(/^PATH=\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/m);
    expect(text).toMatch(/^set -eu$/m);
    // Every program variable is a fixed absolute path, never `${VAR:-default}`.
    for (const name of ['LVM', 'BLKDISCARD', 'BLOCKDEV', 'DD', 'HOSTNAME', 'CONF', 'CAPS']) {
      expect(text).toMatch(new RegExp(`^${name}=/[a-z0-9/.-]+$`, 'm'));
    }
    expect(text).not.toMatch(/\$\{[A-Z_]+:-/);
  });
});

/**
 * What the lvm library would run for `op`, without `lvm` itself: the helper must run exactly that,
 * except one thing real LVM 2.03.16 showed on the testbed: `lvcreate` refuses
 * `--setautoactivation` for thin pools, thin LVs and snapshots ("Option --setautoactivation is
 * unsupported with thin pools", exit 3), so the helper gives it to linear LVs only.
 */
function libraryArgv(op: Operation, caps: Capabilities): string[][] {
  const select = listingSelect(op);
  if (select !== undefined)
    return buildLvmCommands(op, caps).map((c) =>
      op.op === 'reportLvs'
        ? [...c.argv.slice(0, -1), '--select', select, ...c.argv.slice(-1)]
        : [...c.argv, '--select', select],
    );
  const refusesAutoActivation =
    op.op === 'createThin' || op.op === 'snapshot' || (op.op === 'create' && op.kind === 'thin-pool');
  return buildLvmCommands(op, caps).map((c) => {
    if (!refusesAutoActivation) return c.argv;
    const at = c.argv.indexOf('--setautoactivation');
    return at < 0 ? c.argv : [...c.argv.slice(0, at), ...c.argv.slice(at + 2)];
  });
}

/**
 * The helper's one addition to a report that lists (no VG, or no LV, named): LVM's `--select` for
 * the default allow-list, so only the driver's VGs and LVs come back.
 */
function listingSelect(op: Operation): string | undefined {
  if ((op.op === 'reportVgs' && !op.vg) || op.op === 'reportPvs') return 'vg_name=~"^vg-one-.*$"';
  if (op.op === 'reportLvs' && !op.lv) return 'lv_name=~"^lv-one-.*$" || lv_name=~"^lv-oneimg-.*$"';
  return undefined;
}

describe('verbs run the same LVM argv as the lvm library', () => {
  const old: Capabilities = { jsonStd: false, setAutoActivation: true };
  const cases: [string[], Operation][] = [
    [['report', 'vgs'], { op: 'reportVgs' }],
    [['report', 'vgs', 'vg-one-100'], { op: 'reportVgs', vg: 'vg-one-100' }],
    [['report', 'lvs', 'vg-one-100'], { op: 'reportLvs', vg: 'vg-one-100' }],
    [['report', 'lvs', 'vg-one-100', 'lv-one-7-0'], { op: 'reportLvs', vg: 'vg-one-100', lv: 'lv-one-7-0' }],
    [['report', 'pvs'], { op: 'reportPvs' }],
    [
      ['create', 'vg-one-100', 'lv-one-7-0', '1073741824', 'linear'],
      {
        op: 'create',
        vg: 'vg-one-100',
        lv: 'lv-one-7-0',
        sizeBytes: 1073741824,
        kind: 'linear',
        tags: [],
        activate: true,
      },
    ],
    [
      ['create', 'vg-one-100', 'lv-one-7-pool', '1073741824', 'thin-pool'],
      {
        op: 'create',
        vg: 'vg-one-100',
        lv: 'lv-one-7-pool',
        sizeBytes: 1073741824,
        kind: 'thin-pool',
        tags: [],
        activate: true,
      },
    ],
    [
      ['create-thin', 'vg-one-100', 'lv-one-7-pool', 'lv-one-7-0', '4194304'],
      {
        op: 'createThin',
        vg: 'vg-one-100',
        pool: 'lv-one-7-pool',
        lv: 'lv-one-7-0',
        sizeBytes: 4194304,
        tags: [],
      },
    ],
    [
      ['snapshot', 'vg-one-100', 'lv-oneimg-3', 'lv-one-7-0'],
      { op: 'snapshot', vg: 'vg-one-100', origin: 'lv-oneimg-3', lv: 'lv-one-7-0', tags: [] },
    ],
    [
      ['snapshot', 'vg-one-100', 'lv-oneimg-3', 'lv-one-7-0', '8388608'],
      {
        op: 'snapshot',
        vg: 'vg-one-100',
        origin: 'lv-oneimg-3',
        lv: 'lv-one-7-0',
        sizeBytes: 8388608,
        tags: [],
      },
    ],
    [['remove', 'vg-one-100', 'lv-one-7-0'], { op: 'remove', vg: 'vg-one-100', lv: 'lv-one-7-0' }],
    [
      ['rename', 'vg-one-100', 'lv-one-7-0', 'lv-oneimg-9'],
      { op: 'rename', vg: 'vg-one-100', from: 'lv-one-7-0', to: 'lv-oneimg-9' },
    ],
    [
      ['extend', 'vg-one-100', 'lv-one-7-0', '2147483648'],
      { op: 'extend', vg: 'vg-one-100', lv: 'lv-one-7-0', sizeBytes: 2147483648 },
    ],
    [
      ['extend', 'vg-one-100', 'lv-one-7-pool', '2147483648', '8388608'],
      {
        op: 'extend',
        vg: 'vg-one-100',
        lv: 'lv-one-7-pool',
        sizeBytes: 2147483648,
        metadataSizeBytes: 8388608,
      },
    ],
    [
      ['activate', 'vg-one-100', 'lv-one-7-0', 'exclusive'],
      { op: 'activate', vg: 'vg-one-100', lv: 'lv-one-7-0', mode: 'exclusive' },
    ],
    [
      ['activate', 'vg-one-100', 'lv-one-7-0', 'shared'],
      { op: 'activate', vg: 'vg-one-100', lv: 'lv-one-7-0', mode: 'shared' },
    ],
    [
      ['activate', 'vg-one-100', 'lv-one-7-0', 'local'],
      { op: 'activate', vg: 'vg-one-100', lv: 'lv-one-7-0', mode: 'local' },
    ],
    [
      ['activate', 'vg-one-100', 'lv-oneimg-3', 'exclusive', 'one_active_node1'],
      {
        op: 'activate',
        vg: 'vg-one-100',
        lv: 'lv-oneimg-3',
        mode: 'exclusive',
        addTags: ['one_active_node1'],
      },
    ],
    [
      ['activate', 'vg-one-100', 'lv-oneimg-3', 'exclusive', 'one_active_node1', 'one_written'],
      {
        op: 'activate',
        vg: 'vg-one-100',
        lv: 'lv-oneimg-3',
        mode: 'exclusive',
        addTags: ['one_active_node1', 'one_written'],
      },
    ],
    [['deactivate', 'vg-one-100', 'lv-one-7-0'], { op: 'deactivate', vg: 'vg-one-100', lv: 'lv-one-7-0' }],
    [
      ['deactivate', 'vg-one-100', 'lv-oneimg-3', 'one_active_node1'],
      { op: 'deactivate', vg: 'vg-one-100', lv: 'lv-oneimg-3', delTag: 'one_active_node1' },
    ],
    [
      ['seal', 'vg-one-100', 'lv-oneimg-3', 'one_map.4.1048576.AP8_-w'],
      { op: 'deactivate', vg: 'vg-one-100', lv: 'lv-oneimg-3', addTag: 'one_map.4.1048576.AP8_-w' },
    ],
    [['refresh', 'vg-one-100', 'lv-one-7-0'], { op: 'refresh', vg: 'vg-one-100', lv: 'lv-one-7-0' }],
    [
      ['tag', 'vg-one-100', 'lv-one-7-0', 'add', 'one_active_node1'],
      { op: 'tag', vg: 'vg-one-100', lv: 'lv-one-7-0', action: 'add', tag: 'one_active_node1' },
    ],
    [
      ['tag', 'vg-one-100', 'lv-one-7-0', 'del', 'one_active_node1'],
      { op: 'tag', vg: 'vg-one-100', lv: 'lv-one-7-0', action: 'del', tag: 'one_active_node1' },
    ],
    [['lockstart', 'vg-one-100'], { op: 'lockStart', vg: 'vg-one-100' }],
    [['lockstatus', 'vg-one-100'], { op: 'lockStatus', vg: 'vg-one-100' }],
  ];

  it.each(cases)('%j on LVM 2.03.16', (args, op) => {
    const result = box.run(args);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(box.calls()).toEqual(libraryArgv(op, old));
  });

  it('uses json_std from LVM 2.03.17 on, and drops --setautoactivation before 2.03.12', () => {
    box.setLvmVersion('2.03.21');
    box.run(['report', 'pvs']);
    box.setLvmVersion('2.03.11');
    box.run(['create', 'vg-one-100', 'lv-one-7-0', '4194304']);
    const op: Operation = {
      op: 'create',
      vg: 'vg-one-100',
      lv: 'lv-one-7-0',
      sizeBytes: 4194304,
      kind: 'linear',
      tags: [],
      activate: true,
    };
    expect(box.calls()).toEqual([
      ...libraryArgv({ op: 'reportPvs' }, { jsonStd: true, setAutoActivation: true }),
      ...libraryArgv(op, { jsonStd: false, setAutoActivation: false }),
    ]);
  });

  it('asks `lvm version` only for verbs whose argv depends on it (one LVM process start less)', () => {
    box.run(['activate', 'vg-one-100', 'lv-oneimg-3', 'exclusive', 'one_active_node1']);
    box.run(['deactivate', 'vg-one-100', 'lv-oneimg-3', 'one_active_node1']);
    box.run(['lockstart', 'vg-one-100']);
    box.run(['create', 'vg-one-100', 'lv-one-7-pool', '4194304', 'thin-pool']);
    expect(box.versionCalls()).toBe(0);
    box.run(['report', 'lvs', 'vg-one-100', 'lv-oneimg-3']);
    box.run(['create', 'vg-one-100', 'lv-one-7-0', '4194304']);
    expect(box.versionCalls(), 'the second verb reads the kept answer').toBe(1);
    expect(box.calls()).toHaveLength(6);
  });

  it('keeps what `lvm version` said, root-only, until LVM or its directory changes', () => {
    const create = ['create', 'vg-one-100', 'lv-one-7-0', '4194304'];
    box.run(create);
    expect(readFileSync(box.capsFile, 'utf8')).toBe('json --setautoactivation\n');
    expect(statSync(box.capsFile).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(box.capsFile)).mode & 0o777).toBe(0o700);
    for (let i = 0; i < 3; i++) box.run(create);
    expect(box.versionCalls()).toBe(1);
    // Another program installed beside lvm (its directory changes): probed again, once.
    writeFileSync(join(dirname(box.capsFile), '..', 'sbin', 'lvmpolld'), '');
    box.run(create);
    box.run(create);
    expect(box.versionCalls()).toBe(2);
  });

  it('probes again over a garbled or foreign kept answer, and works where it cannot keep one', () => {
    const report = ['report', 'pvs'];
    for (const garbage of ['json_std --config x\n', 'yaml\n', '']) {
      box.run(report);
      writeFileSync(box.capsFile, garbage);
      box.run(report);
      expect(readFileSync(box.capsFile, 'utf8'), JSON.stringify(garbage)).toBe('json --setautoactivation\n');
    }
    expect(box.versionCalls()).toBe(4);
    expect(box.calls().every((argv) => argv.includes('json'))).toBe(true);
    // The directory cannot be made (a file is in the way): every call probes, every call works.
    rmSync(dirname(box.capsFile), { recursive: true });
    writeFileSync(dirname(box.capsFile), '');
    box.setLvmVersion('2.03.21');
    for (let i = 0; i < 2; i++) expect(box.run(report)).toMatchObject({ status: 0, stderr: '' });
    expect(box.versionCalls()).toBe(6);
    expect(box.calls().at(-1)).toContain('json_std');
  });

  it("passes LVM's exit code, stdout and stderr through unchanged", () => {
    box.answer('lvremove', {
      stdout: '{"log":[{"log_ret_code":"5"}]}\n',
      stderr: '  Logical volume vg-one-100/lv-one-7-0 in use.\n',
      exit: 5,
    });
    const result = box.run(['remove', 'vg-one-100', 'lv-one-7-0']);
    expect(result).toEqual({
      status: 5,
      stdout: '{"log":[{"log_ret_code":"5"}]}\n',
      stderr: '  Logical volume vg-one-100/lv-one-7-0 in use.\n',
    });
  });

  it('reactivate-boot activates exclusively only the driver LVs tagged for this host', () => {
    box.answer('lvs', {
      stdout: '  vg-one-100 lv-one-7-0\n  vg-one-100 lv-gfs2\n  vg-root root\n  vg-one-100 lv-oneimg-3\n',
    });
    const result = box.run(helperReactivateBootArgv());
    expect(result.status).toBe(0);
    const calls = box.calls();
    expect(calls[0]).toContain('lv_tags={one_active_node1}');
    expect(calls.slice(1).map((argv) => argv.at(-1))).toEqual([
      'vg-one-100/lv-one-7-0',
      'vg-one-100/lv-oneimg-3',
    ]);
    expect(calls[1]).toContain('ey');
    expect(result.stderr).toContain('skipping vg-one-100/lv-gfs2');
    expect(result.stderr).toContain('skipping vg-root/root');
  });

  it('reactivate-boot reports a failed activation in its exit code and goes on', () => {
    box.answer('lvs', { stdout: '  vg-one-100 lv-one-7-0\n  vg-one-100 lv-one-8-0\n' });
    box.answer('lvchange', { exit: 5 });
    const result = box.run(['reactivate-boot']);
    expect(result.status).toBe(5);
    expect(box.calls()).toHaveLength(3);
  });
});

describe('reports answer only for the VGs and LVs of the allow-list', () => {
  const select = (args: string[]) => {
    expect(box.run(args).status).toBe(0);
    const argv = box.calls().at(-1) ?? [];
    return argv[argv.indexOf('--select') + 1];
  };

  it('lists of VGs, PVs and LVs are filtered by LVM --select on the allow-list', () => {
    box.writeConf('allow_vg vg-san.1+*\nallow_vg vg-one-?\nallow_lv lv-one-*\nallow_lv img.?+x\n');
    expect(select(['report', 'vgs'])).toBe('vg_name=~"^vg-san[.]1[+].*$" || vg_name=~"^vg-one-.$"');
    expect(select(['report', 'pvs'])).toBe('vg_name=~"^vg-san[.]1[+].*$" || vg_name=~"^vg-one-.$"');
    expect(select(['report', 'lvs', 'vg-one-1'])).toBe('lv_name=~"^lv-one-.*$" || lv_name=~"^img[.].[+]x$"');
    // The target stays last: LVM reads it as the VG, not as a select value.
    expect(box.calls().at(-1)?.at(-1)).toBe('vg-one-1');
  });

  it('a named LV outside the allow-list is refused like any other verb refuses it', () => {
    const result = box.run(['report', 'lvs', 'vg-one-1', 'lv-gfs2']);
    expect(result.status).toBe(64);
    expect(result.stderr).toBe(
      `one-gfs2clvm-helper: LV lv-gfs2 is not one of the driver's LVs (allow_lv in ${box.dir}/helper.conf: lv-one-* lv-oneimg-*)\n`,
    );
    expect(box.calls()).toEqual([]);
  });

  it('an allow-list pattern with other characters than names, * and ? is refused', () => {
    for (const pattern of ['vg-[a-z]*', 'vg-one-*"||1', 'vg/one']) {
      box.writeConf(`allow_vg ${pattern}\n`);
      const result = box.run(['report', 'vgs']);
      expect(result.status, pattern).toBe(64);
      expect(result.stderr).toMatch(/^one-gfs2clvm-helper: [^\n]+helper\.conf: invalid pattern [^\n]+\n$/);
    }
    expect(box.calls()).toEqual([]);
  });
});

describe('the environment of the caller never reaches LVM or the helper', () => {
  it('clears every variable (LVM_*, DM_*, loader, shell) and runs with its own PATH', () => {
    const evil = join(box.dir, 'evil');
    mkdirSync(evil);
    for (const name of ['lvm', 'sed', 'blkdiscard', 'blockdev', 'hostname', 'dd'])
      writeFileSync(join(evil, name), `#!/bin/sh\necho ${name} >>"${evil}/ran"\n`, { mode: 0o755 });
    writeFileSync(join(evil, 'lvm.conf'), 'devices { filter = [ "r|.*|" ] }\n');
    const hostile = {
      PATH: `${evil}:/usr/bin:/bin`,
      LVM_SYSTEM_DIR: evil,
      LVM_VG_NAME: 'vg-root',
      LVM_COMMAND_PROFILE: 'evil',
      LVM_SUPPRESS_FD_WARNINGS: '0',
      DM_DEV_DIR: evil,
      DM_DISABLE_UDEV: '1',
      LD_LIBRARY_PATH: evil,
      LOCPATH: evil,
      ENV: join(evil, 'rc'),
      BASH_ENV: join(evil, 'rc'),
      CDPATH: evil,
      HOME: evil,
      LVM_SEEN_NEWLINE: 'x\nLVM_INJECTED=1',
    };
    for (const args of [
      ['report', 'pvs'],
      ['create', 'vg-one-1', 'lv-one-1', '4194304'],
      ['report', 'lvs', 'vg-one-1'],
    ]) {
      const result = box.run(args, hostile);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.status).toBe(0);
      const env = box.lvmEnv();
      expect(env.PATH).toBe('/usr/sbin:/usr/bin:/sbin:/bin');
      expect(env.LVM_SUPPRESS_FD_WARNINGS).toBe('1');
      expect(env.LC_ALL).toBe('C');
      expect(
        Object.keys(env).filter((k) => !['PATH', 'LC_ALL', 'LVM_SUPPRESS_FD_WARNINGS', 'PWD'].includes(k)),
      ).toEqual([]);
    }
    expect(existsSync(join(evil, 'ran'))).toBe(false);
    expect(box.calls()).toHaveLength(3);
  });
});

describe('hostile arguments are refused with one line and exit 64, running nothing', () => {
  const long = `lv-one-${'x'.repeat(121)}`;
  const hostile: [string, string[]][] = [
    ['no verb', []],
    ['unknown verb', ['lvcreate', 'vg-one-1', 'lv-one-1', '1']],
    ['verb as an option', ['--config', 'x']],
    ['too few arguments', ['create', 'vg-one-1', 'lv-one-1']],
    ['too many arguments', ['create', 'vg-one-1', 'lv-one-1', '1', 'linear', 'extra']],
    ['too many for remove', ['remove', 'vg-one-1', 'lv-one-1', 'lv-one-2']],
    ['extra argument to reactivate-boot', ['reactivate-boot', 'vg-one-1']],
    ['semicolon', ['create', 'vg-one-1', 'lv-one-1;reboot', '1']],
    ['command substitution', ['create', 'vg-one-1', 'lv-one-$(id)', '1']],
    ['backticks', ['remove', 'vg-one-1', 'lv-one-`id`']],
    ['space and option', ['remove', 'vg-one-1', 'lv-one-1 --config x']],
    ['newline', ['remove', 'vg-one-1', 'lv-one-1\nid']],
    ['slash', ['remove', 'vg-one-1', 'lv-one-1/../root']],
    ['glob', ['remove', 'vg-one-1', 'lv-one-*']],
    ['dot', ['remove', 'vg-one-1', '.']],
    ['dot dot', ['remove', '..', 'lv-one-1']],
    ['leading dash VG', ['remove', '-vg-one-1', 'lv-one-1']],
    ['leading dash LV', ['remove', 'vg-one-1', '--yes']],
    ['option with equals', ['remove', 'vg-one-1', '--config=global{}']],
    ['empty LV', ['remove', 'vg-one-1', '']],
    ['reserved suffix', ['create', 'vg-one-1', 'lv-one-1_tmeta', '1']],
    ['reserved infix', ['create', 'vg-one-1', 'lv-one-1_rimage_0', '1']],
    ['reserved prefix', ['create', 'vg-one-1', 'snapshot-one', '1']],
    ['name too long', ['create', 'vg-one-1', long, '1']],
    ['VG not the driver’s', ['create', 'vg-root', 'lv-one-1', '1']],
    ['LV not the driver’s (the GFS2 LV)', ['remove', 'vg-one-1', 'lv-gfs2']],
    ['LV not the driver’s (root)', ['deactivate', 'vg-one-1', 'root']],
    ['rename to a non-driver name', ['rename', 'vg-one-1', 'lv-one-1', 'lv-gfs2']],
    ['snapshot of a non-driver origin', ['snapshot', 'vg-one-1', 'lv-gfs2', 'lv-one-1']],
    ['thin volume in a foreign pool', ['create-thin', 'vg-one-1', 'pool0', 'lv-one-1', '1']],
    ['negative size', ['create', 'vg-one-1', 'lv-one-1', '-1']],
    ['zero size', ['create', 'vg-one-1', 'lv-one-1', '0']],
    ['leading zero', ['create', 'vg-one-1', 'lv-one-1', '010']],
    ['unit suffix', ['create', 'vg-one-1', 'lv-one-1', '10G']],
    ['exponent', ['create', 'vg-one-1', 'lv-one-1', '1e9']],
    ['hex', ['create', 'vg-one-1', 'lv-one-1', '0x10']],
    ['fraction', ['extend', 'vg-one-1', 'lv-one-1', '1.5']],
    ['space in size', ['extend', 'vg-one-1', 'lv-one-1', ' 1']],
    ['extend: metadata size with a unit', ['extend', 'vg-one-1', 'lv-one-1', '1048576', '8m']],
    ['extend: metadata size as option', ['extend', 'vg-one-1', 'lv-one-1', '1048576', '--yes']],
    ['extend: metadata size zero', ['extend', 'vg-one-1', 'lv-one-1', '1048576', '0']],
    ['extend: five arguments', ['extend', 'vg-one-1', 'lv-one-1', '1048576', '8388608', '1']],
    ['empty size', ['extend', 'vg-one-1', 'lv-one-1', '']],
    ['over 1 PiB', ['create', 'vg-one-1', 'lv-one-1', '1125899906842625']],
    ['huge size', ['create', 'vg-one-1', 'lv-one-1', '99999999999999999999999999']],
    ['unknown LV type', ['create', 'vg-one-1', 'lv-one-1', '1', 'raid1']],
    ['LVM activation flag as mode', ['activate', 'vg-one-1', 'lv-one-1', 'ey']],
    ['tag not the driver’s', ['tag', 'vg-one-1', 'lv-one-1', 'add', 'foo']],
    ['tag with metacharacters', ['tag', 'vg-one-1', 'lv-one-1', 'add', 'one_$(id)']],
    ['tag as option', ['tag', 'vg-one-1', 'lv-one-1', 'add', '--config']],
    ['unknown tag action', ['tag', 'vg-one-1', 'lv-one-1', 'set', 'one_x']],
    ['activate: tag not the driver’s', ['activate', 'vg-one-1', 'lv-one-1', 'exclusive', 'foo']],
    ['activate: tag as option', ['activate', 'vg-one-1', 'lv-one-1', 'exclusive', '--config=x']],
    ['activate: tag with metacharacters', ['activate', 'vg-one-1', 'lv-one-1', 'shared', 'one_`id`']],
    ['activate: tag with a space', ['activate', 'vg-one-1', 'lv-one-1', 'shared', 'one_a --deltag b']],
    ['activate: empty tag', ['activate', 'vg-one-1', 'lv-one-1', 'exclusive', '']],
    ['activate: tag too long', ['activate', 'vg-one-1', 'lv-one-1', 'exclusive', `one_${'a'.repeat(125)}`]],
    ['activate: tag before the mode', ['activate', 'vg-one-1', 'lv-one-1', 'one_x', 'exclusive']],
    ['activate: three tags', ['activate', 'vg-one-1', 'lv-one-1', 'exclusive', 'one_x', 'one_y', 'one_z']],
    [
      'activate: second tag not the driver’s',
      ['activate', 'vg-one-1', 'lv-one-1', 'exclusive', 'one_x', 'foo'],
    ],
    ['activate: second tag as option', ['activate', 'vg-one-1', 'lv-one-1', 'exclusive', 'one_x', '--yes']],
    ['activate: second tag with a space', ['activate', 'vg-one-1', 'lv-one-1', 'shared', 'one_x', 'one_a b']],
    ['activate: second tag empty', ['activate', 'vg-one-1', 'lv-one-1', 'exclusive', 'one_x', '']],
    ['activate+tag of a non-driver LV', ['activate', 'vg-one-1', 'lv-gfs2', 'exclusive', 'one_x']],
    ['activate+tag in a foreign VG', ['activate', 'vg-root', 'lv-one-1', 'exclusive', 'one_x']],
    ['deactivate: tag not the driver’s', ['deactivate', 'vg-one-1', 'lv-one-1', 'foo']],
    ['deactivate: tag as option', ['deactivate', 'vg-one-1', 'lv-one-1', '--activate=y']],
    ['deactivate: tag with newline', ['deactivate', 'vg-one-1', 'lv-one-1', 'one_a\nb']],
    ['deactivate: four arguments', ['deactivate', 'vg-one-1', 'lv-one-1', 'one_x', 'one_y']],
    ['deactivate+tag of a non-driver LV', ['deactivate', 'vg-one-1', 'root', 'one_x']],
    ['seal without a tag', ['seal', 'vg-one-1', 'lv-one-1']],
    ['seal without arguments', ['seal']],
    ['seal with two tags', ['seal', 'vg-one-1', 'lv-one-1', 'one_x', 'one_y']],
    ['seal: tag not the driver’s', ['seal', 'vg-one-1', 'lv-one-1', 'foo']],
    ['seal: tag as option', ['seal', 'vg-one-1', 'lv-one-1', '--activate=y']],
    ['seal: tag with metacharacters', ['seal', 'vg-one-1', 'lv-one-1', 'one_map.$(id)']],
    ['seal: tag too long', ['seal', 'vg-one-1', 'lv-one-1', `one_map.1.2.${'A'.repeat(117)}`]],
    ['seal of a non-driver LV', ['seal', 'vg-one-1', 'lv-gfs2', 'one_x']],
    ['seal in a foreign VG', ['seal', 'vg-root', 'lv-one-1', 'one_x']],
    ['wipe with three arguments', ['wipe', 'vg-one-1', 'lv-one-1', '0']],
    ['wipe offset not a number', ['wipe', 'vg-one-1', 'lv-one-1', 'x', '512']],
    ['wipe unaligned', ['wipe', 'vg-one-1', 'lv-one-1', '0', '1000']],
    ['wipe of an inactive LV', ['wipe', 'vg-one-1', 'lv-one-1']],
    ['report of an unknown kind', ['report', 'segs', 'vg-one-1']],
    ['report lvs without VG', ['report', 'lvs']],
    ['report of a foreign VG', ['report', 'lvs', 'vg-root']],
    ['report LV name with metacharacters', ['report', 'lvs', 'vg-one-1', 'a;b']],
    ['report of a non-driver LV', ['report', 'lvs', 'vg-one-1', 'lv-gfs2']],
    ['report vgs of a foreign VG', ['report', 'vgs', 'vg-root']],
    ['report pvs with a VG', ['report', 'pvs', 'vg-one-1']],
    ['lockstart of a foreign VG', ['lockstart', 'vg-root']],
  ];

  it.each(hostile)('%s', (_what, args) => {
    const result = box.run(args);
    expect(result.status).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^one-gfs2clvm-helper: [^\n]+\n$/);
    expect(box.calls()).toEqual([]);
  });
});

describe('the allocation-map tags fit the tag check', () => {
  // one_map.<digits>.<digits>.<base64url>, at most 128 characters (LVM's own limit is 1024).
  const map = (length: number) => {
    const head = 'one_map.4.1048576.';
    return head + 'A_-z09'.repeat(30).slice(0, length - head.length);
  };

  it('a 128-character one_map. tag passes (activate and seal), 129 characters are refused', () => {
    expect(map(128)).toHaveLength(128);
    expect(box.run(['seal', 'vg-one-1', 'lv-one-1', map(128)]).status).toBe(0);
    expect(box.run(['activate', 'vg-one-1', 'lv-one-1', 'exclusive', 'one_written', map(128)]).status).toBe(
      0,
    );
    expect(box.calls().map((argv) => argv.filter((a) => a.startsWith('one_')))).toEqual([
      [map(128)],
      ['one_written', map(128)],
    ]);
    const refused = box.run(['seal', 'vg-one-1', 'lv-one-1', map(129)]);
    expect(refused.status).toBe(64);
    expect(refused.stderr).toBe('one-gfs2clvm-helper: invalid tag: longer than 128 characters\n');
    expect(box.run(['activate', 'vg-one-1', 'lv-one-1', 'exclusive', map(129)]).status).toBe(64);
    expect(box.calls()).toHaveLength(2);
  });
});

describe('the allow-list in helper.conf', () => {
  it('replaces the default VG and LV patterns', () => {
    box.writeConf('# site\nallow_vg vg-san-*\nallow_lv lv-one-*\n');
    expect(box.run(['deactivate', 'vg-san-1', 'lv-one-1']).status).toBe(0);
    expect(box.run(['deactivate', 'vg-one-1', 'lv-one-1']).status).toBe(64);
    expect(box.run(['deactivate', 'vg-san-1', 'lv-oneimg-1']).status).toBe(64);
  });

  it('names the patterns and where they are set when it refuses a VG or LV', () => {
    box.writeConf('allow_vg vg-one-*\nallow_vg vg-san-*\n');
    const vg = box.run(['report', 'lvs', 'vg-other']);
    expect(vg.status).toBe(64);
    expect(vg.stderr).toBe(
      `one-gfs2clvm-helper: VG vg-other is not one of the driver's VGs (allow_vg in ${box.dir}/helper.conf: vg-one-* vg-san-*)\n`,
    );
    const lv = box.run(['remove', 'vg-one-1', 'lv-gfs2']);
    expect(lv.stderr).toBe(
      `one-gfs2clvm-helper: LV lv-gfs2 is not one of the driver's LVs (allow_lv in ${box.dir}/helper.conf: lv-one-* lv-oneimg-*)\n`,
    );
    expect(box.calls()).toEqual([]);
  });

  it('refuses to run with an unknown key rather than guess', () => {
    box.writeConf('allow_all yes\n');
    const result = box.run(['deactivate', 'vg-one-1', 'lv-one-1']);
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('unknown key allow_all');
  });
});

describe('expect: the VG lock mode checked by the same privileged command (issue 18)', () => {
  const activate = ['activate', 'vg-one-100', 'lv-oneimg-7', 'exclusive', 'one_active_node1', 'one_written'];
  const activateOp: Operation = {
    op: 'activate',
    vg: 'vg-one-100',
    lv: 'lv-oneimg-7',
    mode: 'exclusive',
    addTags: ['one_active_node1', 'one_written'],
  };
  // vgs rows as LVM prints them with --noheadings --separator : (padding included).
  const rows: [string, string, string][] = [
    ['lvmlockd (sanlock)', '  sanlock:wz--ns\n', 'lvmlockd'],
    ['lvmlockd (dlm)', '  dlm:wz--ns\n', 'lvmlockd'],
    ['plain VG, no lock type', '  :wz--n-\n', 'none'],
    ['plain VG, lock type none', '  none:wz--n-\n', 'none'],
    ['clvmd (clustered attribute)', '  :wz--nc\n', 'clvmd'],
    ['clvmd (lock type clvm)', '  clvm:wz--nc\n', 'clvmd'],
  ];

  it.each(rows)(
    '%s: the expected mode runs the verb after one vgs, any other is exit 65 and runs nothing',
    (_, row, mode) => {
      box.answer('vgs', { stdout: row });
      const ok = box.run(['expect', mode, ...activate]);
      expect(ok).toMatchObject({ status: 0, stderr: '' });
      expect(box.calls()).toEqual([
        [
          'vgs',
          '--config',
          expect.any(String),
          '--noheadings',
          '--separator',
          ':',
          '--options',
          'vg_lock_type,vg_attr',
          'vg-one-100',
        ],
        ...libraryArgv(activateOp, { jsonStd: false, setAutoActivation: true }),
      ]);
      const cluster = box.run(['expect', 'cluster', ...activate]);
      expect(cluster.status).toBe(mode === 'none' ? 65 : 0);
      for (const other of ['lvmlockd', 'clvmd', 'none'].filter((m) => m !== mode)) {
        const before = box.calls().length;
        const refused = box.run(['expect', other, ...activate]);
        expect(refused).toEqual({
          status: 65,
          stdout: '',
          stderr: `one-gfs2clvm-helper: VG vg-one-100 has lock mode ${mode}, not ${other}\n`,
        });
        // Only the vgs ran: no lvchange.
        expect(
          box
            .calls()
            .slice(before)
            .map((c) => c[0]),
        ).toEqual(['vgs']);
      }
    },
  );

  it("a VG LVM cannot read passes LVM's exit code and stderr, and the verb does not run", () => {
    box.answer('vgs', { stderr: '  Volume group "vg-one-100" not found\n', exit: 5 });
    const result = box.run([
      'expect',
      'lvmlockd',
      'deactivate',
      'vg-one-100',
      'lv-oneimg-7',
      'one_active_node1',
    ]);
    expect(result).toEqual({ status: 5, stdout: '', stderr: '  Volume group "vg-one-100" not found\n' });
    expect(box.calls().map((c) => c[0])).toEqual(['vgs']);
  });

  it.each([
    ['unknown mode', ['expect', 'sanlock', 'remove', 'vg-one-100', 'lv-one-7-0']],
    ['mode as an option', ['expect', '--config', 'remove', 'vg-one-100', 'lv-one-7-0']],
    ['a report', ['expect', 'lvmlockd', 'report', 'vgs', 'vg-one-100']],
    ['reactivate-boot', ['expect', 'lvmlockd', 'reactivate-boot', 'vg-one-100']],
    ['expect twice', ['expect', 'lvmlockd', 'expect', 'lvmlockd', 'remove', 'vg-one-100']],
    ['no VG', ['expect', 'lvmlockd', 'remove']],
    ['a VG outside the allow-list', ['expect', 'lvmlockd', 'remove', 'vg-root', 'lv-one-7-0']],
    ['a hostile VG', ['expect', 'lvmlockd', 'remove', 'vg-one-1;id', 'lv-one-7-0']],
    [
      'the verb refuses its own arguments after the check',
      ['expect', 'lvmlockd', 'remove', 'vg-one-100', 'lv-one-$(id)'],
    ],
  ])('%s is refused with exit 64, no lvchange run', (_, args) => {
    box.answer('vgs', { stdout: '  sanlock:wz--ns\n' });
    const result = box.run(args);
    expect(result.status).toBe(64);
    expect(result.stderr).toMatch(/^one-gfs2clvm-helper: [^\n]+\n$/);
    expect(box.calls().filter((c) => c[0] !== 'vgs')).toEqual([]);
  });
});
