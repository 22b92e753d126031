import { TestbedError } from './errors.js';

/** How GFS2 is set up at `/var/lib/one/datastores`: on every host over DLM, on node1 only, or not at all. */
export type Gfs2Mode = 'dlm' | 'nolock' | 'none';
/** The lock manager of lvmlockd for the shared VG: sanlock (leases on the LUN) or dlm (over corosync). */
export type LockType = 'sanlock' | 'dlm';
/** `tcg` (emulation) works everywhere; `kvm` only where nested virtualisation really works. */
export type Accel = 'tcg' | 'kvm';

export interface UpOptions {
  /** Number of emulated hosts, 1–8; default 2. */
  hosts?: number;
  /** Size of the shared LUN in GiB (a sparse file); default 4. */
  lunGiB?: number;
  /** Also attach a second small shared disk holding a plain (non-lvmlockd) VG `vg-plain`. */
  plainVg?: boolean;
  /**
   * lvmlockd's lock manager for `vg-one-100`; default `sanlock`. `dlm` (operators run both kinds)
   * needs `gfs2: 'dlm'`, which is what starts corosync and dlm_controld.
   */
  lockType?: LockType;
  /** Default `dlm` (GFS2 mounted on every host). */
  gfs2?: Gfs2Mode;
  /** Default `$TESTBED_ACCEL`, else `tcg`. */
  accel?: Accel;
  /** Memory per host; default 1024 MiB. */
  memoryMiB?: number;
  /**
   * Virtual CPUs per host (qemu `-smp`; under TCG each is a host thread); default `$TESTBED_CPUS`,
   * else 1. More than one lets a busy host use a core another host leaves idle.
   */
  cpus?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface ResolvedOptions {
  hosts: number;
  lunGiB: number;
  plainVg: boolean;
  lockType: LockType;
  gfs2: Gfs2Mode;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
}

export const MAX_HOSTS = 8;

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TestbedError(
      'INVALID_ARGUMENT',
      `${name} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

/** `$TESTBED_CPUS` as a number (anything but digits is left for `integerIn` to refuse); unset: 1. */
function cpusFromEnv(env: NodeJS.ProcessEnv): unknown {
  const text = env.TESTBED_CPUS;
  if (text === undefined || text === '') return 1;
  return /^[0-9]{1,3}$/.test(text) ? Number(text) : text;
}

/** Checks the options and fills in the defaults. */
export function resolveOptions(
  options: UpOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  const gfs2 = options.gfs2 ?? 'dlm';
  if (!['dlm', 'nolock', 'none'].includes(gfs2)) {
    throw new TestbedError('INVALID_ARGUMENT', `gfs2 must be dlm, nolock or none, got ${String(gfs2)}`);
  }
  const accel = options.accel ?? env.TESTBED_ACCEL ?? 'tcg';
  if (accel !== 'tcg' && accel !== 'kvm') {
    throw new TestbedError(
      'INVALID_ARGUMENT',
      `accel (TESTBED_ACCEL) must be tcg or kvm, got ${String(accel)}`,
    );
  }
  const lockType = options.lockType ?? 'sanlock';
  if (lockType !== 'sanlock' && lockType !== 'dlm') {
    throw new TestbedError('INVALID_ARGUMENT', `lockType must be sanlock or dlm, got ${String(lockType)}`);
  }
  if (lockType === 'dlm' && gfs2 !== 'dlm') {
    throw new TestbedError(
      'INVALID_ARGUMENT',
      'lockType dlm needs gfs2: dlm (corosync and dlm_controld run only then)',
    );
  }
  return {
    hosts: integerIn('hosts', options.hosts ?? 2, 1, MAX_HOSTS),
    lunGiB: integerIn('lunGiB', options.lunGiB ?? 4, 1, 1024),
    plainVg: options.plainVg ?? false,
    lockType,
    gfs2,
    accel,
    memoryMiB: integerIn('memoryMiB', options.memoryMiB ?? 1024, 256, 16384),
    cpus: integerIn('cpus (TESTBED_CPUS)', options.cpus ?? cpusFromEnv(env), 1, 8),
  };
}

/** True when a running cluster was made with the same options (so `up` can reuse it). */
export function sameOptions(a: ResolvedOptions, b: ResolvedOptions): boolean {
  return (
    a.hosts === b.hosts &&
    a.lunGiB === b.lunGiB &&
    a.plainVg === b.plainVg &&
    a.lockType === b.lockType &&
    a.gfs2 === b.gfs2 &&
    a.accel === b.accel &&
    a.memoryMiB === b.memoryMiB &&
    // A cluster started before the option existed has one vCPU per host.
    (a.cpus ?? 1) === (b.cpus ?? 1)
  );
}
