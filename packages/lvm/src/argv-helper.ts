import { invalidArgument, LvmError } from './errors.js';
import type { Command, Operation } from './operations.js';
import { assertWipeRange, type WipeRange } from './wipe.js';

/** Where the installer lays the host helper down (design §8). */
export const HELPER_PATH = '/usr/local/sbin/one-gfs2clvm-helper';
/** How the drivers run it as `oneadmin`. */
export const HELPER_PREFIX = ['sudo', '-n', HELPER_PATH] as const;

/**
 * Host-helper argv (without the prefix) for one operation, in the helper's fixed verb grammar
 * (testbed contract). Pure. The helper runs the same LVM commands as `buildLvmCommands` (its
 * `--config`, fields and fall-backs) and passes LVM's exit code, stdout and stderr through; a
 * report that lists (no VG or LV named) answers for the helper's allow-list only (`--select`).
 * The grammar has no tags or activation flag on `create`: those become follow-up verbs.
 */
export function buildHelperCommands(op: Operation): Command[] {
  const tagAll = (vg: string, lv: string, tags: readonly string[]): Command[] =>
    tags.map((tag) => ({ argv: ['tag', vg, lv, 'add', tag], json: true }));
  const one = (...argv: string[]): Command[] => [{ argv, json: true }];
  const bytes = (n: number) => String(n);

  switch (op.op) {
    case 'reportVgs':
      return one('report', 'vgs', ...(op.vg ? [op.vg] : []));
    case 'reportLvs':
      if (!op.vg) throw invalidArgument('the host helper reports LVs of one VG only: give the VG name');
      return one('report', 'lvs', op.vg, ...(op.lv ? [op.lv] : []));
    case 'reportPvs':
      return one('report', 'pvs');
    case 'create':
      return [
        { argv: ['create', op.vg, op.lv, bytes(op.sizeBytes), op.kind], json: op.kind === 'linear' },
        ...tagAll(op.vg, op.lv, op.tags),
        ...(op.activate ? [] : [{ argv: ['deactivate', op.vg, op.lv], json: true }]),
      ];
    case 'createThin':
      return [
        { argv: ['create-thin', op.vg, op.pool, op.lv, bytes(op.sizeBytes)], json: false },
        ...tagAll(op.vg, op.lv, op.tags),
      ];
    case 'snapshot':
      return [
        {
          argv: [
            'snapshot',
            op.vg,
            op.origin,
            op.lv,
            ...(op.sizeBytes === undefined ? [] : [bytes(op.sizeBytes)]),
          ],
          json: false,
        },
        ...tagAll(op.vg, op.lv, op.tags),
      ];
    case 'remove':
      return one('remove', op.vg, op.lv);
    case 'rename':
      return one('rename', op.vg, op.from, op.to);
    case 'extend':
      return one(
        'extend',
        op.vg,
        op.lv,
        bytes(op.sizeBytes),
        ...(op.metadataSizeBytes === undefined ? [] : [bytes(op.metadataSizeBytes)]),
      );
    // With tags: one lvchange with plain output (see buildLvmCommands).
    case 'activate': {
      const addTags = op.addTags ?? [];
      return addTags.length === 0
        ? one('activate', op.vg, op.lv, op.mode)
        : [{ argv: ['activate', op.vg, op.lv, op.mode, ...addTags], json: false }];
    }
    case 'deactivate':
      if (op.delTag !== undefined && op.addTag !== undefined) throw helperTagSwapUnsupported(op.vg, op.lv);
      if (op.addTag !== undefined) return [{ argv: ['seal', op.vg, op.lv, op.addTag], json: false }];
      return op.delTag === undefined
        ? one('deactivate', op.vg, op.lv)
        : [{ argv: ['deactivate', op.vg, op.lv, op.delTag], json: false }];
    case 'refresh':
      return one('refresh', op.vg, op.lv);
    case 'tag':
      return one('tag', op.vg, op.lv, op.action, op.tag);
    case 'lockStart':
      return [{ argv: ['lockstart', op.vg], json: false }];
    case 'lockStatus':
      return one('lockstatus', op.vg);
  }
}

/** The helper's `deactivate … <tag>` removes a tag, `seal … <tag>` adds one: never both in one call. */
export function helperTagSwapUnsupported(vg: string, lv: string): LvmError {
  return new LvmError(
    'UNSUPPORTED',
    `deactivate ${vg}/${lv}: the host helper removes a tag (deactivate) or adds one (seal) as it deactivates, not both at once`,
  );
}

/**
 * `wipe <vg> <lv> [<offset> <length>]`: zero an LV (or a byte range of it) on the host (`helper`
 * back-end of `Lvm.wipe`). Pure; a bad range is `INVALID_ARGUMENT`, as the helper would refuse it.
 */
export function helperWipeArgv(vg: string, lv: string, range?: WipeRange): string[] {
  assertWipeRange(vg, lv, range);
  return ['wipe', vg, lv, ...(range ? [String(range.offsetBytes), String(range.lengthBytes)] : [])];
}

/** `reactivate-boot`: what the boot-time unit runs (exclusive activation of this host's tagged LVs). */
export function helperReactivateBootArgv(): string[] {
  return ['reactivate-boot'];
}
