import type { Runner } from '@one-gfs2clvm/ssh-remote';
import {
  buildHelperCommands,
  HELPER_PREFIX,
  helperTagSwapUnsupported,
  helperWipeArgv,
} from './argv-helper.js';
import { blkdiscardWipeArgv, buildLvmCommands, ddWipeArgv } from './argv-lvm.js';
import { classifyFailure, lockModeMismatch, lockspaceWarning } from './classify.js';
import { type HostLimiter, sharedHostLimiter } from './concurrency.js';
import { invalidArgument, LvmError } from './errors.js';
import { type LockMode, lockModeOfVg } from './lock-mode.js';
import { assertLvName, assertSizeBytes, assertTag, assertVgName } from './names.js';
import {
  type ActivationMode,
  type Capabilities,
  type Command,
  changesMetadata,
  type Operation,
  operationTarget,
} from './operations.js';
import {
  type LogEntry,
  type Lv,
  type Pv,
  parseLvmOutput,
  toLv,
  toPv,
  toVg,
  type Vg,
  vgLockingOfLvRow,
} from './report.js';
import { type RetryOptions, withRetry } from './retry.js';
import { assertWipeRange, DATA_TIMEOUT_MS, type WipeRange, type WipeResult } from './wipe.js';

/** Serialises metadata changes of a VG in lock mode `none` (e.g. an `flock` on the front-end). */
export type MetadataLock = <T>(vg: string, change: () => Promise<T>) => Promise<T>;

export interface LvmOptions {
  runner: Runner;
  /** `lvm` (default): plain LVM argv; `helper`: the host helper's verbs (design §8). */
  backend?: 'lvm' | 'helper';
  /** Command prefix. Default `['lvm']` for `lvm` (e.g. `['sudo', '-n', 'lvm']`), `HELPER_PREFIX` for `helper`. */
  prefix?: readonly string[];
  /** `auto` (default): detected per VG from `vgs`; or one mode for every VG; or a mode per VG name. */
  lockMode?: 'auto' | LockMode | Readonly<Record<string, LockMode>>;
  /** Required for metadata changes on VGs of lock mode `none`. */
  onMetadataLock?: MetadataLock;
  /** Cap on concurrent LVM commands per host (default 4), shared by every `Lvm` of the process. */
  maxConcurrent?: number;
  /** Or a limiter of your own. */
  limiter?: HostLimiter;
  /** Retries of retryable failures (`false`: none). */
  retry?: RetryOptions | false;
  /** Per command (default 120 s; `lockStart` at least 300 s: a sanlock join takes up to minutes). */
  timeoutMs?: number;
  /**
   * What the LVM is known to support, so it is not learnt by trying (`lvm` back-end): e.g.
   * `{ jsonStd: false }` reports in `json` from the first command (the readers take both formats)
   * instead of one refused `json_std` command per `Lvm` on LVM < 2.03.17. Unset: found by trying.
   */
  capabilities?: Partial<Capabilities>;
  /**
   * `lvm` back-end: runs the data commands of `wipe` (`blkdiscard`, `dd`), which need the sbin
   * directories on PATH and write access to the device (e.g. the runner under `env PATH=…` and a
   * `sudo -n`). Default: `runner`.
   */
  dataRunner?: Runner;
}

export interface CreateLvOptions {
  vg: string;
  lv: string;
  sizeBytes: number;
  tags?: readonly string[];
  /** Activate after creating (LVM's default; exclusive on this host in a shared VG). Default true. */
  activate?: boolean;
}

export interface LockStatus {
  vg: string;
  lockMode: LockMode;
  lockType: string | null;
  /** Whether the VG lockspace is usable on this host; `null` for VGs not under lvmlockd. */
  started: boolean | null;
  /** LVM's warning when it is not. */
  warning: string | null;
}

interface CommandOutput {
  stdout: string;
  stderr: string;
  log: LogEntry[];
}

const VERBS: Record<Operation['op'], string> = {
  reportVgs: 'vgs',
  reportLvs: 'lvs',
  reportPvs: 'pvs',
  create: 'lvcreate',
  createThin: 'lvcreate thin',
  snapshot: 'lvcreate snapshot',
  remove: 'lvremove',
  rename: 'lvrename',
  extend: 'lvextend',
  activate: 'activate',
  deactivate: 'deactivate',
  refresh: 'refresh',
  tag: 'tag',
  lockStart: 'lockstart',
  lockStatus: 'lockstatus',
};

const isRead = (op: Operation) => op.op.startsWith('report') || op.op === 'lockStatus';

/** Typed clustered LVM over any `Runner`. See the README for the whole API. */
export class Lvm {
  readonly runner: Runner;
  readonly backend: 'lvm' | 'helper';
  readonly prefix: readonly string[];
  readonly #options: LvmOptions;
  readonly #limiter: HostLimiter;
  readonly #caps: Capabilities;
  readonly #modes = new Map<string, LockMode>();
  /**
   * VGs whose lock mode the host helper confirmed in this process (`expect`): cluster-locked (mode
   * `auto`, lvmlockd or clvmd) or the configured mode. Later commands need no check of their own,
   * as a mode read once per action never did.
   */
  readonly #confirmed = new Map<string, LockMode | 'cluster'>();
  /** The host's helper predates `expect` (exit 64, unknown verb): read the mode as before. */
  #helperWithoutExpect = false;
  /** `<vg>/<lv>` → its size as last read by this `Lvm` (the bound of a `wipe` range). */
  readonly #sizes = new Map<string, number>();

  constructor(options: LvmOptions) {
    if (!options?.runner) throw new LvmError('INVALID_ARGUMENT', 'Lvm needs a runner');
    this.#options = options;
    this.runner = options.runner;
    this.backend = options.backend ?? 'lvm';
    if (this.backend !== 'lvm' && this.backend !== 'helper')
      throw new LvmError('INVALID_ARGUMENT', `unknown backend ${JSON.stringify(this.backend)}`);
    this.prefix = [...(options.prefix ?? (this.backend === 'lvm' ? ['lvm'] : HELPER_PREFIX))];
    if (this.prefix.length === 0) throw new LvmError('INVALID_ARGUMENT', 'the command prefix is empty');
    this.#limiter = options.limiter ?? sharedHostLimiter(options.maxConcurrent);
    this.#caps = { jsonStd: true, setAutoActivation: true, ...options.capabilities };
  }

  // ---- reads: one report command each ----

  async listVgs(vg?: string): Promise<Vg[]> {
    if (vg !== undefined) assertVgName(vg);
    const out = await this.#execute({ op: 'reportVgs', ...(vg ? { vg } : {}) });
    return parse(out, 'vg', toVg);
  }

  async getVg(vg: string): Promise<Vg> {
    const [found] = await this.listVgs(vg);
    if (!found)
      throw new LvmError('NOT_FOUND', `vgs ${vg} on ${this.runner.host}: Volume group "${vg}" not found`);
    return found;
  }

  /** Every LV of `vg` (or of every VG the host sees: `lvm` back-end only). */
  async listLvs(vg?: string): Promise<Lv[]> {
    if (vg !== undefined) assertVgName(vg);
    const out = await this.#execute({ op: 'reportLvs', ...(vg ? { vg } : {}) });
    return this.#lvsWithLocking(out);
  }

  async getLv(vg: string, lv: string): Promise<Lv> {
    assertVgName(vg);
    assertLvName(lv);
    const [found] = this.#lvsWithLocking(await this.#execute({ op: 'reportLvs', vg, lv }));
    if (!found)
      throw new LvmError(
        'NOT_FOUND',
        `lvs ${vg}/${lv} on ${this.runner.host}: Failed to find logical volume`,
      );
    return found;
  }

  /** Like `getLv`, `null` when the LV does not exist (a missing VG still throws `NOT_FOUND`). */
  async findLv(vg: string, lv: string): Promise<Lv | null> {
    try {
      return await this.getLv(vg, lv);
    } catch (error) {
      if (isMissingLv(error)) return null;
      throw error;
    }
  }

  /** LVs of an `lvs` report; the lock modes of their VGs remembered when the rows carry them. */
  #lvsWithLocking(out: CommandOutput): Lv[] {
    return parse(out, 'lv', (row) => {
      const vg = vgLockingOfLvRow(row);
      if (vg && !this.#modes.has(vg.name)) this.#modes.set(vg.name, lockModeOfVg(vg));
      const lv = toLv(row);
      this.#sizes.set(`${lv.vg}/${lv.name}`, lv.sizeBytes);
      return lv;
    });
  }

  async listPvs(): Promise<Pv[]> {
    return parse(await this.#execute({ op: 'reportPvs' }), 'pv', toPv);
  }

  /** The VG's lock mode: the `lockMode` option, else detected once from `vgs` and remembered. */
  async lockModeOf(vg: string): Promise<LockMode> {
    assertVgName(vg);
    const configured = this.#options.lockMode ?? 'auto';
    if (typeof configured === 'object') {
      const mode = configured[vg];
      if (mode) return mode;
    } else if (configured !== 'auto') return configured;
    let mode = this.#modes.get(vg);
    if (!mode) {
      mode = lockModeOfVg(await this.getVg(vg));
      this.#modes.set(vg, mode);
    }
    return mode;
  }

  // ---- writes ----

  /** A linear LV, autoactivation off. Returns it as re-read. */
  async createLv(options: CreateLvOptions): Promise<Lv> {
    return this.#create(options, 'linear');
  }

  /** A thin pool named `options.lv`. */
  async createThinPool(options: CreateLvOptions): Promise<Lv> {
    return this.#create(options, 'thin-pool');
  }

  async #create(o: CreateLvOptions, kind: 'linear' | 'thin-pool'): Promise<Lv> {
    assertVgName(o.vg);
    assertLvName(o.lv);
    assertSizeBytes(o.sizeBytes);
    const tags = checkTags(o.tags);
    await this.#execute({
      op: 'create',
      vg: o.vg,
      lv: o.lv,
      sizeBytes: o.sizeBytes,
      kind,
      tags,
      activate: o.activate ?? true,
    });
    return this.getLv(o.vg, o.lv);
  }

  /** A thin volume of virtual size `sizeBytes` in `pool`. */
  async createThinLv(o: {
    vg: string;
    pool: string;
    lv: string;
    sizeBytes: number;
    tags?: readonly string[];
  }): Promise<Lv> {
    assertVgName(o.vg);
    assertLvName(o.pool);
    assertLvName(o.lv);
    assertSizeBytes(o.sizeBytes);
    const tags = checkTags(o.tags);
    await this.#execute({ op: 'createThin', vg: o.vg, pool: o.pool, lv: o.lv, sizeBytes: o.sizeBytes, tags });
    return this.getLv(o.vg, o.lv);
  }

  /** A snapshot of `origin`: thick (COW area of `sizeBytes`) or, without `sizeBytes`, thin. */
  async createSnapshot(o: {
    vg: string;
    origin: string;
    lv: string;
    sizeBytes?: number;
    tags?: readonly string[];
  }): Promise<Lv> {
    assertVgName(o.vg);
    assertLvName(o.origin);
    assertLvName(o.lv);
    if (o.sizeBytes !== undefined) assertSizeBytes(o.sizeBytes);
    const tags = checkTags(o.tags);
    await this.#execute({
      op: 'snapshot',
      vg: o.vg,
      origin: o.origin,
      lv: o.lv,
      tags,
      ...(o.sizeBytes !== undefined ? { sizeBytes: o.sizeBytes } : {}),
    });
    return this.getLv(o.vg, o.lv);
  }

  async removeLv(vg: string, lv: string): Promise<void> {
    this.#checkRef(vg, lv);
    await this.#execute({ op: 'remove', vg, lv });
    this.#sizes.delete(`${vg}/${lv}`);
  }

  /** Removes the LV; `false` (no error) when it did not exist. A missing VG still throws. */
  async removeLvIfExists(vg: string, lv: string): Promise<boolean> {
    try {
      await this.removeLv(vg, lv);
      return true;
    } catch (error) {
      if (isMissingLv(error)) return false;
      throw error;
    }
  }

  async renameLv(vg: string, from: string, to: string): Promise<void> {
    assertVgName(vg);
    assertLvName(from);
    assertLvName(to);
    await this.#execute({ op: 'rename', vg, from, to });
    this.#sizes.delete(`${vg}/${from}`);
  }

  /**
   * Grows the LV to at least `sizeBytes` (LVM rounds up to whole extents) and returns it re-read,
   * with its real size. Never shrinks: a smaller size is `UNSUPPORTED`; the same size is a no-op.
   * `metadataSizeBytes` (thin pools): the metadata LV grown to at least that size by the same
   * `lvextend` (`--poolmetadatasize`; LVM grows the spare metadata LV with it); left out when the
   * metadata LV is that large already, so it never shrinks either.
   */
  async extendLv(
    vg: string,
    lv: string,
    sizeBytes: number,
    options: { metadataSizeBytes?: number } = {},
  ): Promise<Lv> {
    this.#checkRef(vg, lv);
    assertSizeBytes(sizeBytes);
    if (options.metadataSizeBytes !== undefined) assertSizeBytes(options.metadataSizeBytes);
    const current = await this.getLv(vg, lv);
    if (sizeBytes < current.sizeBytes)
      throw new LvmError(
        'UNSUPPORTED',
        `lvextend ${vg}/${lv}: refusing to shrink from ${current.sizeBytes} to ${sizeBytes} bytes`,
      );
    const metadata = options.metadataSizeBytes;
    const growMetadata =
      metadata !== undefined && (current.metadataSizeBytes === null || metadata > current.metadataSizeBytes);
    if (sizeBytes === current.sizeBytes && !growMetadata) return current;
    await this.#execute({
      op: 'extend',
      vg,
      lv,
      sizeBytes,
      ...(growMetadata ? { metadataSizeBytes: metadata } : {}),
    });
    return this.getLv(vg, lv);
  }

  /**
   * Activates on this host. lvmlockd/clvmd: `exclusive` (`-aey`), `shared` (`-asy`, not for thin or
   * snapshot LVs), `local` (`-aly`). Lock mode `none`: always a plain local activation followed by a
   * `--refresh` (the table may be stale after another host changed the metadata).
   * `addTags` (at most 2, duplicates dropped): added by the same `lvchange` (one command instead of
   * two or three); LVM writes them before it activates, so a refused activation
   * (`LOCKED_BY_OTHER_HOST`) leaves them added. A tag already there is no error.
   */
  async activateLv(
    vg: string,
    lv: string,
    mode: ActivationMode = 'exclusive',
    options: { addTags?: readonly string[] } = {},
  ): Promise<void> {
    this.#checkRef(vg, lv);
    if (mode !== 'exclusive' && mode !== 'shared' && mode !== 'local')
      throw new LvmError(
        'INVALID_ARGUMENT',
        `activation mode ${JSON.stringify(mode)} is not exclusive, shared or local`,
      );
    const addTags = [...new Set(checkTags(options.addTags))];
    if (addTags.length > 2)
      throw new LvmError(
        'INVALID_ARGUMENT',
        `activate ${vg}/${lv}: at most 2 tags are added with an activation, ${addTags.length} given`,
      );
    const tags = addTags.length === 0 ? {} : { addTags };
    // Also untagged: the lock mode decides the argv (local + refresh in mode none).
    await this.#withLockMode(vg, async (lockMode, expect) => {
      if (lockMode === 'none') {
        await this.#executeIn({ op: 'activate', vg, lv, mode: 'local', ...tags }, lockMode, expect);
        await this.#runAll({ op: 'refresh', vg, lv });
        return;
      }
      await this.#executeIn({ op: 'activate', vg, lv, mode, ...tags }, lockMode, expect);
    });
  }

  /**
   * Deactivates on this host (a no-op where it is not active). `delTag` is removed and `addTag`
   * added by the same `lvchange`, before the deactivation (so also when that fails, e.g. `IN_USE`).
   * The host helper does one or the other (`deactivate … <tag>`, `seal … <tag>`): both at once is
   * `UNSUPPORTED` there.
   */
  async deactivateLv(
    vg: string,
    lv: string,
    options: { delTag?: string; addTag?: string } = {},
  ): Promise<void> {
    this.#checkRef(vg, lv);
    const delTag = options.delTag === undefined ? {} : { delTag: checkTag(options.delTag) };
    const addTag = options.addTag === undefined ? {} : { addTag: checkTag(options.addTag) };
    if (this.backend === 'helper' && options.delTag !== undefined && options.addTag !== undefined)
      throw helperTagSwapUnsupported(vg, lv);
    await this.#execute({ op: 'deactivate', vg, lv, ...delTag, ...addTag });
  }

  /** Reloads the LV's device-mapper table from the current metadata (after a resize elsewhere). */
  async refreshLv(vg: string, lv: string): Promise<void> {
    this.#checkRef(vg, lv);
    await this.#execute({ op: 'refresh', vg, lv });
  }

  /**
   * Activates unless that is known to be done: with lock mode `none`, or for `local`, an active LV
   * is left alone. Under lvmlockd/clvmd the activation always runs: LVM reports
   * `lv_active_exclusively=1` for a shared activation too (seen on 2.03.16 with lvmlockd), so only
   * `-aey`/`-asy` itself (idempotent, converting the lock in place) makes the mode certain.
   * Returns the LV re-read.
   */
  async ensureActive(vg: string, lv: string, mode: ActivationMode = 'exclusive'): Promise<Lv> {
    const current = await this.getLv(vg, lv);
    const lockMode = await this.lockModeOf(vg);
    if (current.active === true && (lockMode === 'none' || mode === 'local')) return current;
    await this.activateLv(vg, lv, mode);
    return this.getLv(vg, lv);
  }

  /** Deactivates if active here; `false` when it was not active or does not exist. */
  async ensureInactive(vg: string, lv: string): Promise<boolean> {
    const current = await this.findLv(vg, lv);
    if (!current || current.active === false) return false;
    await this.deactivateLv(vg, lv);
    return true;
  }

  async addTag(vg: string, lv: string, tag: string): Promise<void> {
    this.#checkRef(vg, lv);
    assertTag(tag);
    await this.#execute({ op: 'tag', vg, lv, action: 'add', tag });
  }

  async removeTag(vg: string, lv: string, tag: string): Promise<void> {
    this.#checkRef(vg, lv);
    assertTag(tag);
    await this.#execute({ op: 'tag', vg, lv, action: 'del', tag });
  }

  /** Joins the VG's lvmlockd lockspace on this host (`vgchange --lockstart`; sanlock: 20 s – 3 min). */
  async lockStart(vg: string): Promise<void> {
    assertVgName(vg);
    await this.#execute({ op: 'lockStart', vg });
  }

  /** Whether the VG lockspace is started on this host (lvmlockd VGs), from a VG read's warnings. */
  async lockStatus(vg: string): Promise<LockStatus> {
    assertVgName(vg);
    const out = await this.#execute({ op: 'lockStatus', vg });
    const [row] = parseLvmOutput(out.stdout, 'vg').rows;
    if (!row)
      throw new LvmError(
        'NOT_FOUND',
        `lockstatus ${vg} on ${this.runner.host}: Volume group "${vg}" not found`,
      );
    const lockType = row.vg_lock_type ? String(row.vg_lock_type) : null;
    const lockMode = await this.lockModeOf(vg);
    const warning = lockMode === 'lvmlockd' ? lockspaceWarning(out) : null;
    return { vg, lockMode, lockType, started: lockMode === 'lvmlockd' ? warning === null : null, warning };
  }

  // ---- data ----

  /**
   * Zeroes the LV, or `range` of it; the LV must be active on this host. A range is checked first
   * (`INVALID_ARGUMENT`, nothing run: see `assertWipeRange`), against the LV's size as this `Lvm`
   * last read it (one `lvs` when it has not). Host helper: its `wipe` verb. Plain LVM:
   * `blkdiscard --zeroout` stepped by 32 MiB on `dataRunner`, falling back to `dd` from /dev/zero
   * where the device cannot write zeroes. Runs up to `DATA_TIMEOUT_MS` (6 h), outside the limit of
   * concurrent LVM commands (a long wipe must not hold their slots). A failure is an `LvmError`
   * classified as LVM's (`EXEC` mostly; the helper's refusal, exit 64, `INVALID_ARGUMENT`).
   */
  async wipe(vg: string, lv: string, range?: WipeRange): Promise<WipeResult> {
    this.#checkRef(vg, lv);
    assertWipeRange(vg, lv, range);
    if (range?.lengthBytes === 0) return { by: 'nothing' };
    if (range) {
      const size = this.#sizes.get(`${vg}/${lv}`) ?? (await this.getLv(vg, lv)).sizeBytes;
      assertWipeRange(vg, lv, range, size);
    }
    const what = `wipe ${vg}/${lv} on ${this.runner.host}`;
    if (this.backend === 'helper') {
      await this.#runData(this.runner, [...this.prefix, ...helperWipeArgv(vg, lv, range)], what);
      return { by: 'helper' };
    }
    const data = this.#options.dataRunner ?? this.runner;
    const discard = await this.#runData(data, blkdiscardWipeArgv(vg, lv, range), what, true);
    if (discard.exitCode === 0) return { by: 'blkdiscard' };
    // Without a range dd stops at the end of the device with "No space left on device": that is done.
    const full = range === undefined ? /No space left on device/ : undefined;
    await this.#runData(data, ddWipeArgv(vg, lv, range), what, false, full);
    return { by: 'dd', blkdiscardError: discard.stderr.trim() };
  }

  /** A data command: `lenient` returns a failure, else it throws unless its stderr matches `done`. */
  async #runData(
    runner: Runner,
    argv: string[],
    what: string,
    lenient = false,
    done?: RegExp,
  ): Promise<{ exitCode: number | null; stderr: string }> {
    const host = this.runner.host;
    let result: Awaited<ReturnType<Runner['run']>>;
    try {
      result = await runner.run(argv, { reject: false, timeoutMs: DATA_TIMEOUT_MS });
    } catch (error) {
      throw runnerFailure(error, what, host, argv, false);
    }
    if (result.exitCode === 0 || lenient || done?.test(result.stderr)) return result;
    throw classifyFailure({ what, host, argv, exitCode: result.exitCode, stderr: result.stderr, log: [] });
  }

  // ---- running ----

  #checkRef(vg: string, lv: string): void {
    assertVgName(vg);
    assertLvName(lv);
  }

  #build(op: Operation): Command[] {
    return this.backend === 'lvm' ? buildLvmCommands(op, this.#caps) : buildHelperCommands(op);
  }

  /** Runs an operation: lock callback for metadata changes in mode `none`, each command retried. */
  async #execute(op: Operation): Promise<CommandOutput> {
    if (!changesMetadata(op) || !('vg' in op) || !op.vg) return this.#runAll(op);
    return this.#withLockMode(op.vg, (mode, expect) => this.#executeIn(op, mode, expect));
  }

  /** `op` in a VG of lock mode `mode`; `expect`: the host helper checks that mode first. */
  async #executeIn(
    op: Operation,
    mode: LockMode | 'cluster',
    expect: LockMode | 'cluster' | undefined,
  ): Promise<CommandOutput> {
    if (mode === 'none' && changesMetadata(op) && 'vg' in op && op.vg) {
      const lock = this.#options.onMetadataLock;
      if (!lock)
        throw new LvmError(
          'LOCK_CALLBACK_MISSING',
          `${VERBS[op.op]} ${operationTarget(op)}: VG ${op.vg} has no cluster locking (lock mode none); pass onMetadataLock to serialise metadata changes`,
        );
      return lock(op.vg, () => this.#runAll(op, expect));
    }
    return this.#runAll(op, expect);
  }

  /**
   * Runs `run` knowing the VG's lock mode, at no command of its own with the host helper (issue 18):
   * * a configured mode (`lockMode` option) is checked by the helper in the first command that
   *   needs it (`expect <mode> <verb> …`): a VG in another mode fails loudly (`LOCK_MODE_MISMATCH`,
   *   nothing run) instead of being changed without the front-end lock it needs, or with the wrong
   *   activation;
   * * `auto`, not known yet: the command runs as for a cluster-locked VG (no front-end lock), with the
   *   helper checking `cluster`; a plain VG answers `none` (nothing run) and the command runs again
   *   the `none` way (front-end lock, local activation + refresh). One LVM read inside the helper
   *   instead of a `vgs` over its own SSH round trip and sudo;
   * * a mode learnt from a report of this process (the LV rows carry it), or confirmed by the helper
   *   before: used as it is, as the per-action read always was;
   * * `lvm` back-end, `auto`: read with `vgs` (plain LVM has no `expect`).
   */
  async #withLockMode<T>(
    vg: string,
    run: (mode: LockMode | 'cluster', expect: LockMode | 'cluster' | undefined) => Promise<T>,
  ): Promise<T> {
    const configured = this.#configuredMode(vg);
    const known = this.#confirmed.get(vg) ?? (configured ? undefined : this.#modes.get(vg));
    if (known) return run(configured ?? known, undefined);
    if (this.backend !== 'helper' || this.#helperWithoutExpect)
      return run(configured ?? (await this.lockModeOf(vg)), undefined);
    const expected = configured ?? 'cluster';
    let result: T;
    try {
      result = await run(expected, expected);
    } catch (error) {
      // A helper older than `expect` (the front-end upgraded before the hosts) refuses it before
      // running anything: then as before, a vgs read (auto) or the configured mode trusted.
      if (
        LvmError.isInstance(error) &&
        error.code === 'INVALID_ARGUMENT' &&
        error.argv.includes('expect') &&
        /one-gfs2clvm-helper: unknown verb/.test(error.stderr)
      ) {
        this.#helperWithoutExpect = true;
        return run(configured ?? (await this.lockModeOf(vg)), undefined);
      }
      const actual = lockModeMismatch(error);
      if (actual === null || !LvmError.isInstance(error)) throw error;
      if (configured)
        throw new LvmError(
          'LOCK_MODE_MISMATCH',
          `${error.message}: the configured lock mode is ${configured}; correct the configuration (one-gfs2clvm doctor compares it with the VGs)`,
          {
            host: error.host,
            argv: error.argv,
            exitCode: error.exitCode,
            stderr: error.stderr,
            cause: error,
          },
        );
      if (actual !== 'none') throw error;
      this.#modes.set(vg, 'none');
      return run('none', undefined);
    }
    this.#confirmed.set(vg, expected);
    return result;
  }

  /** The mode the `lockMode` option sets for `vg`, if any. */
  #configuredMode(vg: string): LockMode | undefined {
    const configured = this.#options.lockMode ?? 'auto';
    if (typeof configured === 'object') return configured[vg];
    return configured === 'auto' ? undefined : configured;
  }

  async #runAll(op: Operation, expect?: LockMode | 'cluster'): Promise<CommandOutput> {
    let out: CommandOutput = { stdout: '', stderr: '', log: [] };
    const build = (): Command[] => {
      const built = this.#build(op);
      // The helper checks the VG's lock mode in the first command (the one that needs it).
      const [first, ...rest] = built;
      return expect && first && this.backend === 'helper'
        ? [{ ...first, argv: ['expect', expect, ...first.argv] }, ...rest]
        : built;
    };
    let commands = build();
    for (let i = 0; i < commands.length; i++) {
      try {
        const command = commands[i] as Command;
        out = await withRetry(() => this.#run(command, op), this.#options.retry ?? {});
      } catch (error) {
        if (!this.#learnFromRefusal(error)) throw error;
        commands = build();
        i--;
      }
    }
    return out;
  }

  /** An LVM that does not know `json_std` / `--setautoactivation` refuses with exit 3 (see config.ts). */
  #learnFromRefusal(error: unknown): boolean {
    if (this.backend !== 'lvm' || !LvmError.isInstance(error) || error.exitCode !== 3) return false;
    // Judged by what the refused command carried, not by the current capabilities: commands started
    // at once on a fresh Lvm are all refused, and the later refusals arrive after the first was learnt.
    if (error.argv.includes('json_std') && /json_std/.test(error.stderr)) {
      this.#caps.jsonStd = false;
      return true;
    }
    // Only "unrecognised option": LVM also answers exit 3 with "--setautoactivation is unsupported
    // with <LV type>", and dropping the flag then would turn autoactivation on for every later LV.
    if (
      error.argv.includes('--setautoactivation') &&
      /unrecogni[sz]ed option.*setautoactivation/i.test(error.stderr)
    ) {
      this.#caps.setAutoActivation = false;
      return true;
    }
    return false;
  }

  async #run(command: Command, op: Operation): Promise<CommandOutput> {
    const argv = [...this.prefix, ...command.argv];
    const host = this.runner.host;
    const what = `${VERBS[op.op]} ${operationTarget(op)} on ${host}`;
    const base = this.#options.timeoutMs ?? 120_000;
    const timeoutMs = op.op === 'lockStart' ? Math.max(base, 300_000) : base;
    let result: Awaited<ReturnType<Runner['run']>>;
    try {
      result = await this.#limiter.run(host, () => this.runner.run(argv, { reject: false, timeoutMs }));
    } catch (error) {
      throw runnerFailure(error, what, host, argv, isRead(op));
    }
    let log: LogEntry[] = [];
    let parseError: unknown;
    if (command.json) {
      try {
        log = parseLvmOutput(result.stdout).log;
      } catch (error) {
        parseError = error;
      }
    }
    if (result.exitCode !== 0) {
      throw classifyFailure({ what, host, argv, exitCode: result.exitCode, stderr: result.stderr, log });
    }
    if (parseError) {
      const message = parseError instanceof Error ? parseError.message : String(parseError);
      throw new LvmError('PARSE', `${what}: ${message}`, {
        host,
        argv,
        exitCode: 0,
        stderr: result.stderr,
        cause: parseError,
      });
    }
    return { stdout: result.stdout, stderr: result.stderr, log };
  }
}

function checkTag(tag: string): string {
  assertTag(tag);
  return tag;
}

function checkTags(tags: readonly string[] | undefined): string[] {
  if (tags !== undefined && !Array.isArray(tags)) throw invalidArgument('tags must be a list of strings');
  const list = [...(tags ?? [])];
  for (const tag of list) assertTag(tag);
  return list;
}

function parse<T>(
  out: CommandOutput,
  kind: 'lv' | 'vg' | 'pv',
  to: (row: Record<string, unknown>) => T,
): T[] {
  return parseLvmOutput(out.stdout, kind).rows.map(to);
}

/** `NOT_FOUND` about the LV itself, not its VG (a wrong VG name must not look like "already gone"). */
function isMissingLv(error: unknown): boolean {
  if (!LvmError.hasCode(error, 'NOT_FOUND')) return false;
  const text = [error.message, ...error.logMessages].join('\n');
  return !/Volume group "[^"]*" not found/.test(text);
}

/** A runner that threw: nothing ran to completion; a timeout of a write has an unknown effect. */
function runnerFailure(
  error: unknown,
  what: string,
  host: string,
  argv: readonly string[],
  read: boolean,
): LvmError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'TIMEOUT')
    return new LvmError('TIMEOUT', `${what}: timed out`, { host, argv, retryable: read, cause: error });
  // Connect failures happen before anything runs; a lost connection mid-command leaves the effect unknown.
  const retryable = code === 'UNREACHABLE' || (code === 'CONNECTION_LOST' && read);
  return new LvmError('EXEC', `${what}: ${message}`, { host, argv, retryable, cause: error });
}
