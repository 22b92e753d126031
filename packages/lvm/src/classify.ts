import { LvmError, type LvmErrorCode } from './errors.js';
import type { LogEntry } from './report.js';

/**
 * Message patterns → code, first match wins (so the specific lock messages come before the generic
 * "not found"). Messages are LVM's and lvmlockd's (lvm2 `lib/locking/lvmlockd.c`, tools), as seen on
 * LVM 2.03 with lvmlockd+sanlock; the table tests hold the recorded lines.
 */
const RULES: readonly { code: LvmErrorCode; pattern: RegExp }[] = [
  { code: 'LOCKED_BY_OTHER_HOST', pattern: /locked by other host|held by other host/i },
  {
    code: 'LOCKSPACE_NOT_STARTED',
    pattern:
      /lock start in progress|lockspace is (?:inactive|starting)|lockspace start error|lock start required|lock failed: locking stopped|Skipping global lock: not found|lockspace (?:is )?not (?:found|started)|Global lock failed: check that global lockspace is started|Cannot access VG .* due to failed lock/i,
  },
  {
    code: 'METADATA_FULL',
    pattern:
      /exceeds maximum metadata size|metadata (?:area )?(?:is )?too (?:small|large)|No space for metadata|not enough space for metadata/i,
  },
  {
    code: 'INSUFFICIENT_SPACE',
    pattern:
      /Insufficient free space|insufficient (?:suitable )?(?:allocatable )?extents|has insufficient free space/i,
  },
  { code: 'ALREADY_EXISTS', pattern: /already exists/i },
  { code: 'UNSUPPORTED', pattern: /Shared activation not compatible|not (?:supported|allowed) with shared/i },
  {
    code: 'IN_USE',
    pattern:
      /\bin use\b|is open|Device or resource busy|open logical volume|contains a filesystem in use|used by another device/i,
  },
  {
    code: 'NOT_FOUND',
    pattern:
      /Failed to find logical volume|Volume group "[^"]*" not found|Logical volume "?[^ ]+"? not found|Cannot process volume group/i,
  },
];

/** Retryable: the command changed nothing and the cause is brief (a VG/global lock, a starting lockspace). */
function retryable(code: LvmErrorCode, text: string): boolean {
  if (code === 'LOCKED_BY_OTHER_HOST') return !/LV locked by other host/i.test(text);
  if (code === 'LOCKSPACE_NOT_STARTED') return /in progress|is starting/i.test(text);
  return code === 'TIMEOUT';
}

export interface CommandFailure {
  what: string;
  host: string;
  argv: readonly string[];
  exitCode: number | null;
  stderr: string;
  log: readonly LogEntry[];
}

/** The messages that explain a failure: `error`/`warn` entries of the JSON log, then stderr lines. */
export function failureMessages(failure: Pick<CommandFailure, 'stderr' | 'log'>): string[] {
  const fromLog = failure.log.filter((e) => e.type === 'error' || e.type === 'warn').map((e) => e.message);
  const fromStderr = failure.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^WARNING: Activation disabled/.test(l));
  return [...fromLog, ...fromStderr];
}

const LOCK_MODE_LINE = /^\s*one-gfs2clvm-helper: VG \S+ has lock mode (lvmlockd|clvmd|none), not /m;

/** The lock mode the host helper found, when `error` is its `LOCK_MODE_MISMATCH`; else `null`. */
export function lockModeMismatch(error: unknown): 'lvmlockd' | 'clvmd' | 'none' | null {
  if (!LvmError.isInstance(error) || error.code !== 'LOCK_MODE_MISMATCH') return null;
  return (LOCK_MODE_LINE.exec(error.stderr)?.[1] as 'lvmlockd' | 'clvmd' | 'none' | undefined) ?? null;
}

/** Classifies a failed LVM command from its exit code, stderr and JSON log into one `LvmError`. */
export function classifyFailure(failure: CommandFailure): LvmError {
  const messages = failureMessages(failure);
  const text = messages.join('\n');
  let code: LvmErrorCode = 'EXEC';
  // Exit 3 (EINVALID_CMD_LINE) is LVM refusing the command line before doing anything; exit 64
  // (EX_USAGE) with its name first is the host helper refusing an argument.
  if (
    failure.exitCode === 3 ||
    (failure.exitCode === 64 && /^\s*one-gfs2clvm-helper: /m.test(failure.stderr))
  )
    code = 'INVALID_ARGUMENT';
  // 126/127: the shell could not run the command (a wrong prefix, LVM not installed). Its "not
  // found" must never read as a missing LV, or removeLvIfExists would report success.
  else if (failure.exitCode === 126 || failure.exitCode === 127) code = 'EXEC';
  // 65 with the helper's line: `expect <mode>` found the VG in another lock mode, ran nothing.
  else if (failure.exitCode === 65 && LOCK_MODE_LINE.test(failure.stderr)) code = 'LOCK_MODE_MISMATCH';
  else code = RULES.find((r) => r.pattern.test(text))?.code ?? 'EXEC';
  const errorLine =
    RULES.map((r) => messages.find((m) => r.pattern.test(m))).find((m) => m !== undefined) ??
    messages.find((m) => !/^WARNING/i.test(m)) ??
    messages[0] ??
    `exit code ${failure.exitCode}`;
  // LVM 2.03.16 says only "Cannot access VG … due to failed lock." when the lockspace is stopped.
  const hint =
    code === 'LOCKSPACE_NOT_STARTED' && !/lockspace|lock start/i.test(errorLine)
      ? ' (the VG lockspace is not started on this host: vgchange --lockstart)'
      : '';
  return new LvmError(code, `${failure.what}: ${errorLine}${hint}`, {
    host: failure.host,
    argv: failure.argv,
    exitCode: failure.exitCode,
    stderr: failure.stderr,
    logMessages: messages,
    retryable: retryable(code, text),
  });
}

/** Warnings of a successful command that mean the VG lockspace is not usable on this host. */
export function lockspaceWarning(failure: Pick<CommandFailure, 'stderr' | 'log'>): string | null {
  const rule = RULES.find((r) => r.code === 'LOCKSPACE_NOT_STARTED') as { pattern: RegExp };
  return failureMessages(failure).find((m) => rule.pattern.test(m) || /without a lock/i.test(m)) ?? null;
}
