import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { DriverError } from './errors.js';
import type { Log } from './log.js';

/*
 * Quiescing a running guest around a point-in-time step (a live disk snapshot, a backup's
 * snapshots): `virsh domfsfreeze`/`domfsthaw` through the guest agent, or `suspend`/`resume`, on the
 * VM's host as the SSH user (oneadmin is in libvirt's group; no sudo). The guest is thawed on every
 * way out: success, failure of the step, and SIGTERM/SIGINT of the action while it is frozen.
 */

/** `BACKUP_CONFIG/FS_FREEZE` (opennebula-backups.md §3.1). */
export type FreezeMode = 'AGENT' | 'SUSPEND' | 'NONE';
export type VirshOp = 'domfsfreeze' | 'domfsthaw' | 'suspend' | 'resume';

export const LIBVIRT_URI = 'qemu:///system';
/** How long one virsh command may take (OpenNebula's `VIRSH_TIMEOUT` default). */
export const VIRSH_TIMEOUT_MS = 60_000;

/** The VM as the freeze needs it. */
export interface Guest {
  vmId: number;
  /** The libvirt domain (`DEPLOY_ID`, `one-<vm id>`). */
  deployId: string;
}

/** A libvirt domain name the driver passes on: `one-<n>`, or a plain name (no shell characters, no leading dash). */
const DOMAIN = /^[A-Za-z0-9_][A-Za-z0-9_.+:@-]{0,127}$/;

export function checkDeployId(deployId: string): string {
  if (!DOMAIN.test(deployId))
    throw new DriverError(
      'INVALID_ARGUMENT',
      `deploy id ${JSON.stringify(deployId.slice(0, 60))} is not a libvirt domain name`,
    );
  return deployId;
}

/** `virsh -c qemu:///system <op> <deploy id>`. */
export function virshArgv(op: VirshOp, deployId: string): string[] {
  return ['virsh', '-c', LIBVIRT_URI, op, checkDeployId(deployId)];
}

/** The mode of a VM's `FS_FREEZE` value: unset means AGENT (with the SUSPEND fallback); anything else unknown NONE, as oned reads it. */
export function freezeMode(value: string | undefined): FreezeMode {
  const v = (value ?? '').trim().toUpperCase();
  if (v === '') return 'AGENT';
  return v === 'AGENT' || v === 'SUSPEND' ? v : 'NONE';
}

/** Something that delivers process signals (the process; an EventEmitter in tests). */
interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface FreezeOptions {
  log: Log;
  /** The action, first word of the lines. */
  action: string;
  /** Per virsh command; default `VIRSH_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** Default `process`. */
  signals?: SignalSource;
  /** What ends the process after the thaw on a signal; default `process.exit`. */
  exit?: (code: number) => void;
}

interface FrozenState {
  thawOp: VirshOp;
  since: number;
}

const SIGNAL_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs `fn` with the guest frozen per `mode` on `host`, then thaws it — also when `fn` throws and
 * when the process gets SIGTERM/SIGINT meanwhile (thaw sent, then exit 143/130). AGENT falls back
 * to SUSPEND when `domfsfreeze` fails (no agent, timeout). One INFO line per freeze and thaw with
 * its duration. A failed thaw fails the action with one line naming the VM and the command to run.
 */
export async function withGuestFrozen<T>(
  host: { name: string; runner: Runner },
  guest: Guest,
  mode: FreezeMode,
  fn: () => Promise<T>,
  options: FreezeOptions,
): Promise<T> {
  checkDeployId(guest.deployId);
  if (mode === 'NONE') {
    options.log.info(`VM ${guest.vmId} not frozen (FS_FREEZE=NONE)`);
    return fn();
  }
  const signals = options.signals ?? process;
  let thawing: Promise<void> | undefined;
  let freezing: Promise<FrozenState> | undefined;
  const thawOnce = () => {
    thawing ??= (freezing as Promise<FrozenState>).then((state) => thaw(host, guest, state, options));
    return thawing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    options.log.error(`${signal} while VM ${guest.vmId} is frozen: thawing before exit`);
    const exit = options.exit ?? ((code: number) => process.exit(code));
    const code = signal === 'SIGINT' ? SIGNAL_CODES.SIGINT : SIGNAL_CODES.SIGTERM;
    thawOnce().then(
      () => exit(code),
      (error: unknown) => {
        options.log.error((error as Error).message);
        exit(code);
      },
    );
  };
  signals.on('SIGTERM', onSignal);
  signals.on('SIGINT', onSignal);
  try {
    freezing = freeze(host, guest, mode, options);
    await freezing;
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      await thawOnce().catch((thawError: unknown) => {
        options.log.error(`after a failure: ${(error as Error).message}`);
        throw thawError;
      });
      throw error;
    }
    await thawOnce();
    return result;
  } finally {
    signals.off('SIGTERM', onSignal);
    signals.off('SIGINT', onSignal);
  }
}

async function virsh(host: { runner: Runner }, op: VirshOp, guest: Guest, options: FreezeOptions) {
  await host.runner.run(virshArgv(op, guest.deployId), { timeoutMs: options.timeoutMs ?? VIRSH_TIMEOUT_MS });
}

const ms = (since: number) => Math.round(performance.now() - since);

function reason(error: unknown): string {
  const e = error as { stderrTail?: string; message?: string };
  return (e.stderrTail?.trim() || e.message || String(error)).split('\n')[0] as string;
}

async function freeze(
  host: { name: string; runner: Runner },
  guest: Guest,
  mode: 'AGENT' | 'SUSPEND',
  options: FreezeOptions,
): Promise<FrozenState> {
  const started = performance.now();
  if (mode === 'AGENT') {
    try {
      await virsh(host, 'domfsfreeze', guest, options);
      options.log.info(`froze ${guest.deployId} (domfsfreeze) on ${host.name} in ${ms(started)} ms`);
      return { thawOp: 'domfsthaw', since: performance.now() };
    } catch (error) {
      options.log.info(
        `domfsfreeze of ${guest.deployId} on ${host.name} failed (${reason(error)}): suspending it instead`,
      );
      // A freeze that timed out may still have frozen some file systems.
      await virsh(host, 'domfsthaw', guest, options).catch(() => undefined);
    }
  }
  const suspended = performance.now();
  try {
    await virsh(host, 'suspend', guest, options);
  } catch (error) {
    throw new DriverError(
      'EXEC',
      `${options.action}: cannot suspend VM ${guest.vmId} (${guest.deployId}) on ${host.name}: ${reason(error)}`,
      { cause: error },
    );
  }
  options.log.info(`suspended ${guest.deployId} on ${host.name} in ${ms(suspended)} ms`);
  return { thawOp: 'resume', since: performance.now() };
}

async function thaw(
  host: { name: string; runner: Runner },
  guest: Guest,
  state: FrozenState,
  options: FreezeOptions,
): Promise<void> {
  const started = performance.now();
  try {
    await virsh(host, state.thawOp, guest, options);
  } catch (error) {
    throw new DriverError(
      'EXEC',
      `${options.action}: VM ${guest.vmId} left frozen: ${state.thawOp} failed (${reason(error)}); run on ${host.name}: ${virshArgv(state.thawOp, guest.deployId).join(' ')}`,
      { cause: error },
    );
  }
  options.log.info(
    `${state.thawOp} ${guest.deployId} on ${host.name} in ${ms(started)} ms, frozen ${ms(state.since)} ms`,
  );
}
