import { CodedError } from '@one-gfs2clvm/errors';

/**
 * Why the testbed could not do what was asked:
 * * `MISSING_TOOL` — qemu, ssh-keygen or another program is not installed (run scripts/setup.sh).
 * * `KERNEL` — Debian's kernel could not be fetched or the initramfs not built.
 * * `PORT_IN_USE` — a loopback port the cluster needs is taken by another program.
 * * `NO_SPACE` — too little free disk for the shared LUN(s) in the state folder.
 * * `NOT_RUNNING` — no cluster is up (no state file, or its qemu processes are gone).
 * * `ALREADY_RUNNING` — a cluster with other options is up; `down` first.
 * * `BOOT_FAILED` — a qemu process exited, or a host never answered over SSH.
 * * `SETUP_FAILED` — a set-up step inside the hosts failed (VG, lockspace, GFS2).
 * * `UNKNOWN_HOST` — no host of that name in the cluster.
 * * `INVALID_ARGUMENT` — a bad option (host count, size, GFS2 mode).
 * * `QMP` — qemu's monitor refused a fault-injection command.
 */
export type TestbedErrorCode =
  | 'MISSING_TOOL'
  | 'KERNEL'
  | 'PORT_IN_USE'
  | 'NO_SPACE'
  | 'NOT_RUNNING'
  | 'ALREADY_RUNNING'
  | 'BOOT_FAILED'
  | 'SETUP_FAILED'
  | 'UNKNOWN_HOST'
  | 'INVALID_ARGUMENT'
  | 'QMP';

const RETRYABLE: ReadonlySet<TestbedErrorCode> = new Set(['PORT_IN_USE', 'BOOT_FAILED']);

/**
 * The one error type of the testbed; `code` says what happened, `message` is one line for a person.
 * `TestbedError.isInstance` works across copies of this package (a realm-free `instanceof`).
 * Retryable (`TestbedError.isRetryable(e)`, `retryable`): a port taken or a boot that failed may
 * well work on a second try.
 */
export class TestbedError extends CodedError<TestbedErrorCode> {
  static {
    CodedError.register(TestbedError, '@one-gfs2clvm/testbed/TestbedError');
  }
  override readonly name = 'TestbedError';

  constructor(code: TestbedErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { cause: options?.cause, retryable: RETRYABLE.has(code) });
  }

  /** The same as `isRetryable`. */
  get retryable(): boolean {
    return this.isRetryable;
  }
}
