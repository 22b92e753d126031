import { join } from 'node:path';
import { assertLvName, assertVgName, type Lv, LvmError, type LvRef } from '@one-gfs2clvm/lvm';
import type { ActionContext } from './context.js';
import { DriverError } from './errors.js';
import { type HeldLock, holdFlock } from './fe-lock.js';
import type { Host } from './hosts.js';
import { hostTag, releaseFromHost } from './lv-ops.js';

/**
 * Front-end leases on the activation of an LV that several actions read at once on one host:
 * every clone of an image, the image driver's DS `clone` and `vol://` copies (later exports and
 * backups). All of them run on the one front-end, so the sharing is counted there, by the kernel:
 *
 * * a user holds a SHARED `flock` on `<lockDir>/gfs2clvm-use-<host>@<vg>@<lv>.lock` from before it
 *   activates the LV on that host until it no longer reads it;
 * * its release drops that lock and then tries an EXCLUSIVE one without waiting: only the last
 *   user on that host gets it, and it deactivates the LV while holding it, so a new user waits
 *   (for its shared lock) until the deactivation is over and then activates again;
 * * a user that crashes loses its lock with its process (fe-lock.ts `holdFlock`): it never blocks
 *   anyone; the activation it leaves is deactivated by the next user's release.
 *
 * What holds no lease — a VM — is guarded too: the last user reads the LV before it deactivates
 * it and leaves it active when it carries this host's tag (`one_active_<host>`: a persistent disk
 * linked by `ln`, whether its VM runs, is powered off or is between prolog and boot); an LV open
 * on the host (a running VM's CDROM, linked shared, untagged) is refused by LVM itself (IN_USE)
 * and stays active.
 */

/** Host names as lock-file name parts: what DNS and OpenNebula allow, nothing a path could use. */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

/** The lease file of `ref` on `host`; names are validated first (`@` is in none of them). */
export function leaseFile(lockDir: string, host: string, ref: LvRef): string {
  if (!HOST_NAME.test(host))
    throw new DriverError(
      'INVALID_ARGUMENT',
      `host name ${JSON.stringify(host)} is not usable in a lock file name`,
    );
  assertVgName(ref.vg);
  assertLvName(ref.lv);
  return join(lockDir, `gfs2clvm-use-${host}@${ref.vg}@${ref.lv}.lock`);
}

/** What a lease needs of an action's context: the lock settings and the log. */
type LeaseContext = Pick<ActionContext, 'config' | 'log'>;

/** Takes the SHARED lease of `ref` on `host` (waits while a last user deactivates it). */
export async function acquireLease(ctx: LeaseContext, host: Host, ref: LvRef): Promise<HeldLock> {
  const file = leaseFile(ctx.config.lockDir, host.name, ref);
  const held = await holdFlock(file, 'shared', ctx.config.lockTimeoutSeconds);
  if (!held)
    throw new DriverError(
      'LOCK_TIMEOUT',
      `${ref.vg}/${ref.lv} on ${host.name}: front-end lease ${file} not free after ${ctx.config.lockTimeoutSeconds} s`,
    );
  return held;
}

/**
 * Drops this user's lease; when it was the last user on `host`, deactivates `ref` there unless a
 * VM of the host has it (above). Never throws: a failed deactivation is logged (the LV stays
 * active; the next user's release tries again).
 */
export async function releaseLease(
  ctx: LeaseContext,
  host: Host,
  ref: LvRef,
  lease: HeldLock,
): Promise<void> {
  await lease.release();
  const file = leaseFile(ctx.config.lockDir, host.name, ref);
  const last = await holdFlock(file, 'exclusive', 0).catch((error: unknown) => {
    ctx.log.error(`${ref.vg}/${ref.lv} left active on ${host.name}: ${(error as Error).message}`);
    return null;
  });
  if (!last) return; // another user on this host reads it: its release will do this
  try {
    const lv = await host.lvm.findLv(ref.vg, ref.lv);
    if (!lv || lv.active === false) return;
    if (lv.tags.includes(hostTag(host.name))) {
      ctx.log.info(`${ref.vg}/${ref.lv} stays active on ${host.name}: a VM of the host has it`);
      return;
    }
    await host.lvm.deactivateLv(ref.vg, ref.lv);
  } catch (error) {
    if (LvmError.hasCode(error, 'IN_USE'))
      ctx.log.info(`${ref.vg}/${ref.lv} stays active on ${host.name}: open there (a running VM's CDROM)`);
    else ctx.log.error(`deactivating ${ref.vg}/${ref.lv} on ${host.name}: ${(error as Error).message}`);
  } finally {
    await last.release();
  }
}

/**
 * Runs `use` with `ref` active on `host` under a shared lease: activated in `mode` (idempotent)
 * unless `known` (the LV as the caller read it) carries this host's tag — then a VM of the host
 * has it, active exclusively, and it is neither activated nor released. Released as above.
 */
export async function withLease<T>(
  ctx: LeaseContext,
  host: Host,
  ref: LvRef,
  mode: 'shared' | 'exclusive',
  known: Lv | undefined,
  use: () => Promise<T>,
): Promise<T> {
  const lease = await acquireLease(ctx, host, ref);
  const vmHasIt = known?.tags.includes(hostTag(host.name)) === true;
  try {
    if (!vmHasIt) await host.lvm.activateLv(ref.vg, ref.lv, mode);
    return await use();
  } finally {
    if (vmHasIt) await lease.release();
    else await releaseLease(ctx, host, ref, lease);
  }
}

/**
 * Runs `activate` (a VM's activation of an image on `host`: `ln`, a CDROM link) under a shared
 * lease, dropped right after without a release: from then on the VM has the LV, guarded by its
 * host tag or by being open. The lease keeps the activation from running between a last user's
 * look at the LV and its deactivation.
 */
export async function underLease<T>(
  ctx: LeaseContext,
  host: Host,
  ref: LvRef,
  activate: () => Promise<T>,
): Promise<T> {
  const lease = await acquireLease(ctx, host, ref);
  try {
    return await activate();
  } finally {
    await lease.release();
  }
}

/**
 * Release of an image a VM had on `host` (`delete` of a persistent disk or a CDROM, an undone
 * `ln`): deactivated and untagged in one command (lv-ops.ts `releaseFromHost`, an LV still open
 * for another VM stays), unless lease holders read it there right now: then only the host tag
 * goes, and the last of them deactivates it.
 */
export async function releaseVmImage(ctx: LeaseContext, host: Host, ref: LvRef): Promise<void> {
  const alone = await holdFlock(leaseFile(ctx.config.lockDir, host.name, ref), 'exclusive', 0);
  if (!alone) {
    ctx.log.info(`${ref.vg}/${ref.lv} is being read on ${host.name}: only its host tag removed`);
    await host.lvm.removeTag(ref.vg, ref.lv, hostTag(host.name)).catch((error: unknown) => {
      if (!LvmError.hasCode(error, 'NOT_FOUND')) throw error;
    });
    return;
  }
  try {
    await releaseFromHost(host, ref, { ignoreInUse: true });
  } finally {
    await alone.release();
  }
}
