import { describe, expect, it } from 'vitest';
import { restoreEdits } from '../src/edit/text-edit.js';
import { enableLiveSnapshots, liveSnapshotPairs } from '../src/edit/vmm-execrc.js';
import { InstallerError } from '../src/errors.js';

/** Shaped like a stock /etc/one/vmm_exec/vmm_execrc, with an operator's own entry (kvm-mydriver). */
const RC = `# -------------------------------------------------------------------------- #
# Environment of the VMM driver (vmm_exec)                                    #
# -------------------------------------------------------------------------- #

# Space separated list of VMM-TM pairs that support live disk snapshots. VMM
# and TM must be separated by '-'
#LIVE_DISK_SNAPSHOTS="kvm-qcow2"
LIVE_DISK_SNAPSHOTS="kvm-qcow2 kvm-shared kvm-ceph qemu-qcow2 qemu-shared qemu-ceph kvm-mydriver"

# How long a virsh command may take (s)
VIRSH_TIMEOUT=60
`;

describe('vmm_execrc LIVE_DISK_SNAPSHOTS', () => {
  it('adds kvm-gfs2clvm and qemu-gfs2clvm to the list, keeping every other entry, line and comment', () => {
    const result = enableLiveSnapshots(RC);
    expect(result.content).toBe(
      RC.replace('qemu-ceph kvm-mydriver"', 'qemu-ceph kvm-mydriver kvm-gfs2clvm qemu-gfs2clvm"'),
    );
    expect(result.edits).toHaveLength(1);
    expect(liveSnapshotPairs(result.content)).toEqual([
      'kvm-qcow2',
      'kvm-shared',
      'kvm-ceph',
      'qemu-qcow2',
      'qemu-shared',
      'qemu-ceph',
      'kvm-mydriver',
      'kvm-gfs2clvm',
      'qemu-gfs2clvm',
    ]);
  });

  it('is idempotent, and adds only the pair that is missing', () => {
    const once = enableLiveSnapshots(RC).content;
    expect(enableLiveSnapshots(once)).toEqual({ content: once, edits: [] });
    const half = RC.replace('kvm-mydriver"', 'kvm-mydriver qemu-gfs2clvm"');
    expect(liveSnapshotPairs(enableLiveSnapshots(half).content).slice(-2)).toEqual([
      'qemu-gfs2clvm',
      'kvm-gfs2clvm',
    ]);
  });

  it('uninstall (restoreEdits) takes exactly those back out, byte for byte', () => {
    const installed = enableLiveSnapshots(RC);
    expect(restoreEdits(installed.content, installed.edits).content).toBe(RC);
    // A later change elsewhere in the file stays.
    const later = `${installed.content}# added by the operator\n`;
    expect(restoreEdits(later, installed.edits).content).toBe(`${RC}# added by the operator\n`);
  });

  it('no variable: one line appended (and removed again)', () => {
    const bare = '# nothing here\nVIRSH_TIMEOUT=60';
    const installed = enableLiveSnapshots(bare);
    expect(installed.content).toBe(`${bare}\nLIVE_DISK_SNAPSHOTS="kvm-gfs2clvm qemu-gfs2clvm"\n`);
    expect(restoreEdits(installed.content, installed.edits).content).toBe(bare);
  });

  it('the effective line is the last one; export, single quotes and a trailing comment are kept', () => {
    const text = `LIVE_DISK_SNAPSHOTS="kvm-ssh"\nexport LIVE_DISK_SNAPSHOTS='kvm-qcow2' # mine\n`;
    expect(enableLiveSnapshots(text).content).toBe(
      `LIVE_DISK_SNAPSHOTS="kvm-ssh"\nexport LIVE_DISK_SNAPSHOTS='kvm-qcow2 kvm-gfs2clvm qemu-gfs2clvm' # mine\n`,
    );
  });

  it('a list continued over lines or built from variables is refused with one line', () => {
    for (const bad of [
      'LIVE_DISK_SNAPSHOTS="kvm-qcow2 \\\n  kvm-ssh"\n',
      'LIVE_DISK_SNAPSHOTS="$X kvm-ssh"x\n',
    ]) {
      let error: unknown;
      try {
        enableLiveSnapshots(bad, '/etc/one/vmm_exec/vmm_execrc');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InstallerError);
      expect((error as Error).message).toBe(
        '/etc/one/vmm_exec/vmm_execrc: LIVE_DISK_SNAPSHOTS is not one quoted list on one line',
      );
    }
  });
});
