import { describe, expect, it } from 'vitest';
import { lockModeMismatch, lockspaceWarning } from '../src/classify.js';
import { classifyFailure, type LvmErrorCode, parseLvmOutput } from '../src/index.js';
import { type RecordedCommand, recorded } from '../src/testing.js';

function classifyRecorded(fixture: RecordedCommand) {
  const { log } = parseLvmOutput(fixture.stdout);
  return classifyFailure({
    what: 'op',
    host: fixture.host,
    argv: fixture.argv,
    exitCode: fixture.exitCode,
    stderr: fixture.stderr,
    log,
  });
}

describe('classification of failures recorded on LVM 2.03.16, locally and on the testbed (exit code + JSON log + stderr)', () => {
  it.each([
    ['lvsLvNotFound', 'NOT_FOUND', 'op: Failed to find logical volume "vg-rec-1/nope"'],
    ['vgsVgNotFound', 'NOT_FOUND', 'op: Volume group "vg-nope" not found'],
    ['lvremoveNotFound', 'NOT_FOUND', 'op: Failed to find logical volume "vg-rec-1/nope"'],
    [
      'lvcreateAlreadyExists',
      'ALREADY_EXISTS',
      'op: Logical Volume "lv-one-7-0" already exists in volume group "vg-rec-1"',
    ],
    [
      'lvrenameAlreadyExists',
      'ALREADY_EXISTS',
      'op: Logical Volume "lv-one-7-0" already exists in volume group "vg-rec-1"',
    ],
    [
      'lvcreateInsufficientSpace',
      'INSUFFICIENT_SPACE',
      'op: Volume group "vg-rec-1" has insufficient free space (763 extents): 262144 required.',
    ],
    ['lvcreateMetadataFull', 'METADATA_FULL', null],
    ['lvsJsonStdRefused', 'INVALID_ARGUMENT', 'op: Invalid argument for --reportformat: json_std'],
    [
      'lvchangeLockedByOtherHost',
      'LOCKED_BY_OTHER_HOST',
      /^op: LV locked by other host: vg-one-100\/lv-\w+-active$/,
    ],
    [
      'lvchangeSharedThin',
      'UNSUPPORTED',
      /^op: Shared activation not compatible with LV type thin-pool of vg-one-100\//,
    ],
    ['lvremoveInUse', 'IN_USE', /^op: Logical volume vg-one-100\/lv-\w+-idle in use\.$/],
    ['lvchangeDeactivateInUse', 'IN_USE', /^op: Logical volume vg-one-100\/lv-\w+-idle in use\.$/],
    [
      'lvchangeLockspaceStopped',
      'LOCKSPACE_NOT_STARTED',
      /^op: Cannot access VG vg-\w+-ls due to failed lock\. \(the VG lockspace is not started/,
    ],
    [
      'lvcreateLockspaceStopped',
      'LOCKSPACE_NOT_STARTED',
      /^op: Cannot access VG vg-\w+-ls due to failed lock\./,
    ],
  ] as const)('%s → %s', (name, code, message) => {
    const fixture = recorded[name] as RecordedCommand;
    const error = classifyRecorded(fixture);
    expect(error.code).toBe(code);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else if (message) expect(error.message).toMatch(message);
    expect(error.exitCode).toBe(fixture.exitCode);
    expect(error.argv).toEqual(fixture.argv);
    expect(error.stderr).toBe(fixture.stderr);
    expect(error.isRetryable).toBe(false);
  });

  it('lockStatus warning of a stopped lockspace (recorded vgs)', () => {
    const { log } = parseLvmOutput(recorded.vgsLockspaceStopped.stdout);
    expect(recorded.vgsLockspaceStopped.exitCode).toBe(0);
    expect(lockspaceWarning({ stderr: recorded.vgsLockspaceStopped.stderr, log })).toMatch(
      /^Reading VG vg-\w+-ls without a lock\.$/,
    );
    const started = parseLvmOutput(recorded.vgsTestbedShared.stdout);
    expect(lockspaceWarning({ stderr: recorded.vgsTestbedShared.stderr, log: started.log })).toBeNull();
  });

  it('metadata full names the sizes', () => {
    expect(classifyRecorded(recorded.lvcreateMetadataFull).message).toMatch(
      /exceeds maximum metadata size \(\d+ bytes\)/,
    );
  });
});

// lvmlockd/sanlock messages (lvm2 lib/locking/lvmlockd.c); the testbed tests reproduce them for real.
describe('lock and in-use messages on stderr', () => {
  it.each([
    ['LV locked by other host: vg-one-100/lv-one-7-0', 5, 'LOCKED_BY_OTHER_HOST', false],
    ['VG vg-one-100 lock failed: held by other host.', 5, 'LOCKED_BY_OTHER_HOST', true],
    ['Global lock failed: held by other host.', 5, 'LOCKED_BY_OTHER_HOST', true],
    ['VG vg-one-100 lock failed: lock start in progress', 5, 'LOCKSPACE_NOT_STARTED', true],
    ['VG vg-one-100 lock failed: lockspace is inactive', 5, 'LOCKSPACE_NOT_STARTED', false],
    ['VG vg-one-100 lock failed: lock start required', 5, 'LOCKSPACE_NOT_STARTED', false],
    ['VG vg-one-100 lock failed: locking stopped', 5, 'LOCKSPACE_NOT_STARTED', false],
    ['Global lock ex error: lockspace is starting', 5, 'LOCKSPACE_NOT_STARTED', true],
    ['Cannot access VG vg-y-ls due to failed lock.', 5, 'LOCKSPACE_NOT_STARTED', false],
    ['Shared activation not compatible with LV type: vg/thin1', 5, 'UNSUPPORTED', false],
    ['Logical volume vg/lv-one-7-0 in use.', 5, 'IN_USE', false],
    ['Logical volume vg/lv-one-7-0 contains a filesystem in use.', 5, 'IN_USE', false],
    ['Can\'t remove open logical volume "lv-one-7-0".', 5, 'IN_USE', false],
    [
      'device-mapper: remove ioctl on vg--one--100-lv--one--7--0 (253:3) failed: Device or resource busy',
      5,
      'IN_USE',
      false,
    ],
    ['Insufficient free space: 512 extents needed, but only 10 available', 5, 'INSUFFICIENT_SPACE', false],
    ['Something new and strange', 5, 'EXEC', false],
    ['one-gfs2clvm-helper: create: size must be a decimal number of bytes', 64, 'INVALID_ARGUMENT', false],
    ['sudo: a password is required', 1, 'EXEC', false],
    ['sh: 1: /nonexistent/lvm: not found', 127, 'EXEC', false],
    ['bash: line 1: lvm: command not found', 127, 'EXEC', false],
    ['sudo: /usr/local/sbin/one-gfs2clvm-helper: command not found', 1, 'EXEC', false],
    ['', 1, 'EXEC', false],
  ] as [string, number, LvmErrorCode, boolean][])(
    '%j (exit %d) → %s',
    (stderr, exitCode, code, retryable) => {
      const error = classifyFailure({
        what: 'lvchange vg/lv on node2',
        host: 'node2',
        argv: ['lvm', 'lvchange'],
        exitCode,
        stderr: `  ${stderr}\n`,
        log: [],
      });
      expect(error.code).toBe(code);
      expect(error.isRetryable).toBe(retryable);
      expect(error.host).toBe('node2');
      expect(error.message.startsWith('lvchange vg/lv on node2: ')).toBe(true);
      expect(error.message.includes('\n')).toBe(false);
    },
  );

  it('a stopped lockspace says so in the message', () => {
    const error = classifyFailure({
      what: 'activate vg-y-ls/lv1 on node1',
      host: 'node1',
      argv: [],
      exitCode: 5,
      stderr: '',
      log: [
        {
          type: 'error',
          message: 'Cannot access VG vg-y-ls due to failed lock.',
          objectType: 'vg',
          objectName: 'vg-y-ls',
          objectGroup: '',
          errno: -1,
          retCode: 0,
        },
      ],
    });
    expect(error.message).toBe(
      'activate vg-y-ls/lv1 on node1: Cannot access VG vg-y-ls due to failed lock. (the VG lockspace is not started on this host: vgchange --lockstart)',
    );
  });

  it('warnings are not taken for the cause when there is an error line', () => {
    const error = classifyFailure({
      what: 'op',
      host: 'h',
      argv: [],
      exitCode: 5,
      stderr: '  WARNING: something benign\n  Failed to find logical volume "vg/x"\n',
      log: [],
    });
    expect(error.message).toBe('op: Failed to find logical volume "vg/x"');
  });

  it('a killed command (no exit code) is EXEC with its stderr', () => {
    const error = classifyFailure({ what: 'op', host: 'h', argv: [], exitCode: null, stderr: '', log: [] });
    expect(error.code).toBe('EXEC');
    expect(error.message).toBe('op: exit code null');
  });
});

describe("the host helper's lock-mode check (expect, exit 65)", () => {
  const failure = (exitCode: number, stderr: string) =>
    classifyFailure({
      what: 'activate vg1/lv1 on node1',
      host: 'node1',
      argv: [],
      exitCode,
      stderr,
      log: [],
    });

  it('its line is LOCK_MODE_MISMATCH, not retryable, and says the mode it found', () => {
    const error = failure(65, 'one-gfs2clvm-helper: VG vg1 has lock mode none, not cluster\n');
    expect(error.code).toBe('LOCK_MODE_MISMATCH');
    expect(error.isRetryable).toBe(false);
    expect(error.message).toBe(
      'activate vg1/lv1 on node1: one-gfs2clvm-helper: VG vg1 has lock mode none, not cluster',
    );
    expect(lockModeMismatch(error)).toBe('none');
  });

  it('exit 65 without it is an ordinary failure, and so is the line with another exit code', () => {
    expect(failure(65, '  something else\n').code).toBe('EXEC');
    const other = failure(5, 'one-gfs2clvm-helper: VG vg1 has lock mode none, not cluster\n');
    expect(other.code).not.toBe('LOCK_MODE_MISMATCH');
    expect(lockModeMismatch(other)).toBeNull();
  });
});
