import { describe, expect, it } from 'vitest';
import { formatCheck } from '../src/doctor/check.js';
import { checkLocking } from '../src/doctor/host.js';
import type { Exec } from '../src/exec.js';

/** Answers per program, as recorded on the testbed (lvmlockctl --info of a started sanlock VG). */
function fakeExec(answers: Record<string, { exitCode?: number; stdout?: string; stderr?: string }>): Exec {
  return async (argv) => {
    const answer = answers[argv[0] ?? ''] ?? { exitCode: 127, stderr: `${argv[0]}: not found` };
    return { exitCode: answer.exitCode ?? 0, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '' };
  };
}

const vgs = (rows: { vg_name: string; vg_lock_type: string; vg_mda_size: string; lv_count: string }[]) =>
  JSON.stringify({ report: [{ vg: rows }] });

const LOCKCTL_INFO = [
  'VG vg-one-100 lock_type=sanlock HWUHia-IBcT-V8F9-uqJV-Gef0-2yOR-hLV02p',
  'LS sanlock lvm_vg-one-100',
  'LK VG un ver 4',
  'LK LV sh KkCs1J-53f3-A6mN-iiZE-Tuva-jtvU-0yncMd',
  '',
].join('\n');

describe('checkLocking', () => {
  it('says which lockspaces are started and which are not, with the command to start them', async () => {
    const exec = fakeExec({
      lvm: {
        stdout: vgs([
          { vg_name: 'vg-one-100', vg_lock_type: 'sanlock', vg_mda_size: '1044480', lv_count: '12' },
          { vg_name: 'vg-one-101', vg_lock_type: 'sanlock', vg_mda_size: '1044480', lv_count: '0' },
          { vg_name: 'vg-system', vg_lock_type: '', vg_mda_size: '1044480', lv_count: '3' },
        ]),
      },
      lvmlockctl: { stdout: LOCKCTL_INFO },
    });
    const lines = (await checkLocking(exec, 'vg-one-*')).map(formatCheck);
    expect(lines).toEqual([
      'OK   lock manager: lvmlockd is running',
      'OK   VG vg-one-100: sanlock lockspace started',
      'OK   VG vg-one-100 metadata: 12 LVs, metadata area 1020 KiB holds about 1791',
      'FAIL VG vg-one-101: sanlock lockspace not started — run: vgchange --lockstart vg-one-101',
      'OK   VG vg-one-101 metadata: 0 LVs, metadata area 1020 KiB holds about 1791',
    ]);
  });

  it('reads a vgs report whose log section ends with a comma, as LVM 2.03.16 prints it', async () => {
    // Seen on the testbed through the helper's `report vgs`: strict JSON.parse refuses this.
    const report = vgs([
      { vg_name: 'vg-one-100', vg_lock_type: 'sanlock', vg_mda_size: '1044480', lv_count: '2' },
    ]).replace(
      /}$/,
      ',"log": [{"log_seq_num":"1", "log_type":"status", "log_context":"processing", "log_object_type":"cmd", "log_object_name":"", "log_object_id":"", "log_object_group":"", "log_object_group_id":"", "log_message":"", "log_errno":"0", "log_ret_code":"1"},\n]}',
    );
    const exec = fakeExec({ lvm: { stdout: report }, lvmlockctl: { stdout: LOCKCTL_INFO } });
    const lines = (await checkLocking(exec, 'vg-one-*')).map(formatCheck);
    expect(lines).toContain('OK   VG vg-one-100: sanlock lockspace started');
  });

  it('warns when a VG nears the LV count its metadata area holds', async () => {
    const exec = fakeExec({
      lvm: {
        stdout: vgs([
          { vg_name: 'vg-one-1', vg_lock_type: 'none', vg_mda_size: '1044480', lv_count: '1500' },
        ]),
      },
    });
    const [, metadata] = (await checkLocking(exec, 'vg-one-*', 50)).map(formatCheck);
    expect(metadata).toBe(
      'WARN VG vg-one-1 metadata: 1500 LVs, metadata area 1020 KiB holds about 1791 — create a VG with a larger --metadatasize for new disks (one-gfs2clvm vg-create)',
    );
  });

  it('fails clearly when lvmlockd is not running', async () => {
    const exec = fakeExec({
      lvm: {
        stdout: vgs([
          { vg_name: 'vg-one-1', vg_lock_type: 'sanlock', vg_mda_size: '1044480', lv_count: '1' },
        ]),
      },
      lvmlockctl: { exitCode: 1, stderr: 'Cannot connect to lvmlockd.\n' },
    });
    const lines = (await checkLocking(exec, 'vg-one-*')).map(formatCheck);
    expect(lines[0]).toBe(
      'FAIL lock manager: lvmlockd is not running (Cannot connect to lvmlockd.) — start sanlock (or dlm) and lvmlockd: systemctl start sanlock lvmlockd',
    );
    expect(lines[1]).toMatch(/^FAIL VG vg-one-1: sanlock lockspace not started/);
  });

  it('says when no driver VG is visible', async () => {
    const exec = fakeExec({
      lvm: { stdout: vgs([{ vg_name: 'vg-system', vg_lock_type: '', vg_mda_size: '1', lv_count: '1' }]) },
    });
    expect((await checkLocking(exec, 'vg-one-*')).map(formatCheck)).toEqual([
      'WARN VGs: no VG matching vg-one-* is visible — create one: one-gfs2clvm vg-create <vg> <device> --expected-lvs <n>',
    ]);
  });
});
