import { LvmError } from '@one-gfs2clvm/lvm';
import { RemoteError } from '@one-gfs2clvm/ssh-remote';
import { describe, expect, it } from 'vitest';
import { userLine } from '../src/user-line.js';

// The one line oned shows for LVM failures that need the operator: what, where and what to run.
describe('the user line of lock failures', () => {
  it('a stopped lockspace names the VG, the host and the command that starts it', () => {
    // LVM 2.03.16 with a stopped lockspace (testbed), as the lvm library words it.
    const error = new LvmError(
      'LOCKSPACE_NOT_STARTED',
      'lvcreate vg-one-102/lv-one-710-0 on node2: Cannot access VG vg-one-102 due to failed lock. (the VG lockspace is not started on this host: vgchange --lockstart)',
      { host: 'node2' },
    );
    expect(userLine(error)).toMatch(
      /^lockspace of VG vg-one-102 not started on node2: run vgchange --lockstart vg-one-102 there \(lvcreate vg-one-102\/lv-one-710-0 on node2: Cannot access VG/,
    );
  });

  it('without a VG in the message it still names the host and the command', () => {
    const error = new LvmError('LOCKSPACE_NOT_STARTED', 'lvs on node2: lock start in progress', {
      host: 'node2',
    });
    expect(userLine(error)).toBe(
      'lockspace not started on node2 (vgchange --lockstart): lvs on node2: lock start in progress',
    );
  });

  it('a connection lost mid-command (a host that crashed) says so first, with the command', () => {
    const lost = new RemoteError(
      'CONNECTION_LOST',
      'node2: env PATH=/usr/sbin:/usr/bin dd if=/dev/vg-one-102/lv-oneimg-720 of=/dev/vg-one-102/lv-one-720-0 bs=16K …: the SSH connection was lost while the command ran; it may or may not have completed',
      { host: 'node2', argv: ['env', 'PATH=/usr/sbin:/usr/bin', 'dd', 'if=/dev/vg-one-102/lv-oneimg-720'] },
    );
    const wrapped = new Error('copy failed', { cause: lost });
    expect(userLine(wrapped)).toMatch(
      /^node2: SSH connection lost while running dd \(host crashed or cut off\?\): node2: env PATH=/,
    );
  });
});
