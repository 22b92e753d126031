/**
 * Test helpers for code that uses `@one-gfs2clvm/lvm` without LVM or root: the fake runner of
 * `@one-gfs2clvm/ssh-remote`, real LVM output recorded on LVM 2.03, and an argv matcher that
 * recognises this library's LVM commands whatever their `--config` string.
 */
import { type FakeResponse, FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { type RecordedCommand, recorded } from './fixtures/index.js';

export {
  type FakeCall,
  type FakeResponse,
  FakeRunner,
  UnexpectedCommandError,
} from '@one-gfs2clvm/ssh-remote/testing';
export { type RecordedCommand, recorded };

/**
 * Matches an LVM command of this library: `command` (`lvs`, `lvcreate` …) after the prefix and,
 * when given, `target` as the last argument (`vg`, `vg/lv`) and `has` among the arguments.
 */
export function lvmCommand(
  command: string,
  target?: string,
  options: { prefix?: readonly string[]; has?: readonly string[] } = {},
): (argv: readonly string[]) => boolean {
  const prefix = options.prefix ?? ['lvm'];
  return (argv) =>
    prefix.every((p, i) => argv[i] === p) &&
    argv[prefix.length] === command &&
    (target === undefined || argv[argv.length - 1] === target) &&
    (options.has ?? []).every((a) => argv.includes(a));
}

/** A fake answer replaying a recorded command. */
export function replay(fixture: RecordedCommand): FakeResponse {
  return { stdout: fixture.stdout, stderr: fixture.stderr, exitCode: fixture.exitCode ?? 1 };
}

/** A `FakeRunner` for `host` (default `node1`). */
export function fakeLvmRunner(host = 'node1'): FakeRunner {
  return new FakeRunner({ host });
}

/**
 * One row of `lvs --reportformat json` for a linear LV, with the columns this library asks for (as
 * LVM 2.03.16 prints them): a fake host's answer about `vg/lv`.
 */
export function lvsRow(
  vg: string,
  lv: string,
  options: { sizeBytes: number; active?: boolean | undefined; tags?: readonly string[] | undefined },
): Record<string, string> {
  const active = options.active ?? false;
  return {
    lv_name: lv,
    vg_name: vg,
    lv_uuid: 'moKh0t-h2RQ-dEQG-NFTJ-u89c-LOHf-RhLcVi',
    lv_attr: active ? '-wi-a-----' : '-wi-------',
    lv_size: String(options.sizeBytes),
    lv_tags: (options.tags ?? []).join(','),
    pool_lv: '',
    origin: '',
    data_percent: '',
    metadata_percent: '',
    lv_active: active ? 'active' : '',
    lv_active_locally: active ? 'active locally' : '',
    lv_active_exclusively: active ? 'active exclusively' : '',
    lv_layout: 'linear',
    lv_role: 'public',
  };
}
