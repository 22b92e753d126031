export type CheckStatus = 'OK' | 'WARN' | 'FAIL' | 'SKIP';

export interface CheckResult {
  status: CheckStatus;
  name: string;
  detail: string;
  /** What to do about it (for WARN and FAIL). */
  fix?: string;
}

/** One line per check: `FAIL lockspace vg-one-100: not started — run: vgchange --lockstart vg-one-100`. */
export function formatCheck(result: CheckResult): string {
  return `${result.status.padEnd(4)} ${result.name}: ${result.detail}${result.fix ? ` — ${result.fix}` : ''}`;
}

export const ok = (name: string, detail: string): CheckResult => ({ status: 'OK', name, detail });
export const warn = (name: string, detail: string, fix: string): CheckResult => ({
  status: 'WARN',
  name,
  detail,
  fix,
});
export const fail = (name: string, detail: string, fix: string): CheckResult => ({
  status: 'FAIL',
  name,
  detail,
  fix,
});
export const skip = (name: string, detail: string): CheckResult => ({ status: 'SKIP', name, detail });
