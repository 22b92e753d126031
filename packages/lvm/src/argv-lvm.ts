import { LV_FIELDS, LV_VG_FIELDS, LVM_CONFIG, LVM_CONFIG_JSON_LOG, PV_FIELDS, VG_FIELDS } from './config.js';
import { devicePath } from './names.js';
import type { ActivationMode, Capabilities, Command, Operation } from './operations.js';
import { assertWipeRange, type WipeRange } from './wipe.js';

const ACTIVATE: Record<ActivationMode, string> = { exclusive: 'ey', shared: 'sy', local: 'ly' };

/**
 * Plain LVM argv (without the prefix, e.g. `lvm` or `sudo -n lvm`) for one operation. Pure.
 * Commands that accept `--reportformat` get it, with `LVM_CONFIG_JSON_LOG`, so their messages come
 * back as the JSON `log`; those that refuse it (thin-pool, thin and snapshot `lvcreate`: "Option
 * --reportformat is unsupported with thin pools", `vgchange --lockstart`) get `LVM_CONFIG` and
 * report on stderr.
 */
export function buildLvmCommands(op: Operation, caps: Capabilities): Command[] {
  const b = builders(caps);
  switch (op.op) {
    case 'reportVgs':
      return [b.report('vgs', VG_FIELDS, ...(op.vg ? [op.vg] : []))];
    case 'reportLvs':
      return [
        b.report(
          'lvs',
          [...LV_FIELDS, ...LV_VG_FIELDS],
          ...(op.vg ? [op.lv ? `${op.vg}/${op.lv}` : op.vg] : []),
        ),
      ];
    case 'reportPvs':
      return [b.report('pvs', PV_FIELDS)];
    case 'create':
      return [createCommand(op, b)];
    case 'createThin':
      return [createThinCommand(op, b)];
    case 'snapshot': {
      const size = op.sizeBytes === undefined ? ['--setactivationskip', 'n'] : ['--size', `${op.sizeBytes}b`];
      return [
        b.plain(
          'lvcreate',
          '--snapshot',
          '--name',
          op.lv,
          ...size,
          ...tags(op.tags),
          `${op.vg}/${op.origin}`,
        ),
      ];
    }
    case 'remove':
      // `--yes`: LVM asks before removing an active (unopened) LV; an open one is still refused.
      return [b.json('lvremove', '--yes', `${op.vg}/${op.lv}`)];
    case 'rename':
      return [b.json('lvrename', op.vg, op.from, op.to)];
    // A thin pool's data and metadata in one lvextend (LVM 2.03.16: one commit, also for an inactive
    // pool; a metadata size equal to the current one is "unchanged", exit 0).
    case 'extend': {
      const metadata =
        op.metadataSizeBytes === undefined ? [] : ['--poolmetadatasize', `${op.metadataSizeBytes}b`];
      return [b.json('lvextend', '--size', `${op.sizeBytes}b`, ...metadata, `${op.vg}/${op.lv}`)];
    }
    case 'activate':
    case 'deactivate':
      return [activationCommand(op, b)];
    case 'refresh':
      return [b.json('lvchange', '--refresh', `${op.vg}/${op.lv}`)];
    case 'tag':
      return [b.json('lvchange', op.action === 'add' ? '--addtag' : '--deltag', op.tag, `${op.vg}/${op.lv}`)];
    case 'lockStart':
      return [b.plain('vgchange', '--lockstart', op.vg)];
    case 'lockStatus':
      // A read takes the VG lock in shared mode; without a started lockspace lvmlockd lets it read
      // and LVM warns ("lock skipped: lockspace is inactive" …), which `lockStatus` looks for.
      return [b.report('vgs', ['vg_name', 'vg_lock_type'], op.vg)];
  }
}

type OperationOf<K extends Operation['op']> = Extract<Operation, { op: K }>;

/** The command shapes for one LVM's capabilities. */
interface Builders {
  /** Messages as the JSON `log` of stdout. */
  json: (cmd: string, ...rest: string[]) => Command;
  /** For commands that refuse `--reportformat`: messages on stderr. */
  plain: (cmd: string, ...rest: string[]) => Command;
  report: (cmd: string, fields: readonly string[], ...targets: string[]) => Command;
  /** `--setautoactivation n` where this LVM has it. */
  noAuto: string[];
}

function builders(caps: Capabilities): Builders {
  const format = caps.jsonStd ? 'json_std' : 'json';
  const json = (cmd: string, ...rest: string[]): Command => ({
    argv: [cmd, '--config', LVM_CONFIG_JSON_LOG, '--reportformat', format, ...rest],
    json: true,
  });
  return {
    json,
    plain: (cmd, ...rest) => ({ argv: [cmd, '--config', LVM_CONFIG, ...rest], json: false }),
    report: (cmd, fields, ...targets) =>
      json(cmd, '--units', 'b', '--nosuffix', '--binary', '--options', fields.join(','), ...targets),
    // Linear LVs only: LVM 2.03.16 refuses `--setautoactivation` for thin pools, thin LVs and
    // snapshots ("Option --setautoactivation is unsupported with thins", exit 3); those follow the VG's
    // own setting, which `vg-create` of the installer turns off for the whole VG.
    noAuto: caps.setAutoActivation ? ['--setautoactivation', 'n'] : [],
  };
}

const tags = (list: readonly string[]) => list.flatMap((t) => ['--addtag', t]);

function createCommand(op: OperationOf<'create'>, b: Builders): Command {
  // An inactive new LV cannot be zeroed or have old signatures wiped: say so explicitly,
  // else LVM refuses. `--yes` answers LVM's "wipe the signature found?" prompt (no tty here).
  const activation = op.activate
    ? ['--activate', 'y', '--yes']
    : ['--activate', 'n', '--zero', 'n', '--wipesignatures', 'n'];
  const rest = [
    '--name',
    op.lv,
    '--size',
    `${op.sizeBytes}b`,
    ...(op.kind === 'thin-pool' ? [] : b.noAuto),
    ...tags(op.tags),
    ...activation,
    op.vg,
  ];
  return op.kind === 'thin-pool'
    ? b.plain('lvcreate', '--type', 'thin-pool', ...rest)
    : b.json('lvcreate', ...rest);
}

function createThinCommand(op: OperationOf<'createThin'>, b: Builders): Command {
  return b.plain(
    'lvcreate',
    '--type',
    'thin',
    '--virtualsize',
    `${op.sizeBytes}b`,
    '--thinpool',
    op.pool,
    '--name',
    op.lv,
    ...tags(op.tags),
    '--yes',
    op.vg,
  );
}

/**
 * Tags with the activation: one command instead of two or three. LVM changes the tags (one
 * metadata commit) first, then the activation; a refused activation leaves the tags changed.
 * Plain output: LVM runs the two as separate steps and prints one JSON document for each (seen
 * on 2.03.16), which is not one JSON text; its messages are on stderr then.
 */
function activationCommand(op: OperationOf<'activate' | 'deactivate'>, b: Builders): Command {
  if (op.op === 'activate') {
    const addTags = op.addTags ?? [];
    const rest = ['--activate', ACTIVATE[op.mode], `${op.vg}/${op.lv}`];
    return addTags.length === 0
      ? b.json('lvchange', ...rest)
      : b.plain('lvchange', ...tags(addTags), ...rest);
  }
  const change = [
    ...(op.delTag === undefined ? [] : ['--deltag', op.delTag]),
    ...(op.addTag === undefined ? [] : ['--addtag', op.addTag]),
  ];
  const rest = ['--activate', 'n', `${op.vg}/${op.lv}`];
  return change.length === 0 ? b.json('lvchange', ...rest) : b.plain('lvchange', ...change, ...rest);
}

const WIPE_STEP_BYTES = 32 * 2 ** 20;

/**
 * `blkdiscard --zeroout` over the LV `/dev/<vg>/<lv>` or a byte range of it (`lvm` back-end of
 * `Lvm.wipe`), stepped by 32 MiB so the lock manager's lease I/O on the same LUN is not starved
 * (the host helper's `wipe` does the same). Pure; a bad range is `INVALID_ARGUMENT`.
 */
export function blkdiscardWipeArgv(vg: string, lv: string, range?: WipeRange): string[] {
  assertWipeRange(vg, lv, range);
  const span = range ? ['--offset', String(range.offsetBytes), '--length', String(range.lengthBytes)] : [];
  return ['blkdiscard', '--zeroout', '--step', String(WIPE_STEP_BYTES), ...span, devicePath({ vg, lv })];
}

/**
 * `dd` from /dev/zero over the same (direct I/O): the fall-back where the device cannot write
 * zeroes. Without a range it ends at the end of the device with "No space left on device".
 */
export function ddWipeArgv(vg: string, lv: string, range?: WipeRange): string[] {
  assertWipeRange(vg, lv, range);
  const span = range
    ? [
        `seek=${range.offsetBytes}`,
        `count=${range.lengthBytes}`,
        'oflag=seek_bytes,direct',
        'iflag=count_bytes',
      ]
    : ['oflag=direct'];
  return [
    'dd',
    'if=/dev/zero',
    `of=${devicePath({ vg, lv })}`,
    'bs=4M',
    'conv=notrunc',
    'status=none',
    ...span,
  ];
}
