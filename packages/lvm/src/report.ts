import { decodeLvAttr, type LvAttr, vgAttrSharing } from './attr.js';
import { LvmError } from './errors.js';

/** One entry of LVM's JSON `log` section (`log/report_command_log=1`). */
export interface LogEntry {
  /** `error`, `warn`, `print`, `status` … */
  type: string;
  message: string;
  /** `vg`, `lv`, `pv`, `cmd` … */
  objectType: string;
  objectName: string;
  /** For an LV: its VG. */
  objectGroup: string;
  errno: number;
  retCode: number;
}

export interface Vg {
  name: string;
  uuid: string;
  attr: string;
  /** `sanlock`, `dlm` … for lvmlockd VGs, else `null`. */
  lockType: string | null;
  /** From `vg_attr`: `shared` (lvmlockd), `clustered` (clvmd) or `local`. */
  sharing: 'shared' | 'clustered' | 'local';
  sizeBytes: number;
  freeBytes: number;
  extentSizeBytes: number;
  extentCount: number;
  freeExtentCount: number;
  lvCount: number;
  pvCount: number;
  tags: string[];
  /** Size and free space of the (smallest) metadata area: how many more LVs fit. */
  metadataAreaBytes: number | null;
  metadataFreeBytes: number | null;
}

export interface Lv {
  vg: string;
  name: string;
  uuid: string;
  sizeBytes: number;
  attr: LvAttr;
  /** Active on this host (`null` when LVM could not tell). */
  active: boolean | null;
  activeLocally: boolean | null;
  /**
   * As LVM reports it. Under lvmlockd LVM 2.03.16 says `true` for a shared (`-asy`) activation as
   * well: it does not tell lvmlockd's lock modes apart. Do not use it to check for exclusivity.
   */
  activeExclusively: boolean | null;
  open: boolean | null;
  tags: string[];
  /** The thin pool of a thin volume, else `null`. */
  pool: string | null;
  /** The origin of a snapshot, else `null`. */
  origin: string | null;
  /** Thin pools, thin volumes and snapshots: percent used, else `null`. */
  dataPercent: number | null;
  metadataPercent: number | null;
  /** `lv_layout`, e.g. `['linear']`, `['thin', 'pool']`, `['thin', 'sparse']`. */
  layout: string[];
  /** `lv_role`, e.g. `['public']`, `['public', 'snapshot', 'thinsnapshot']`. */
  role: string[];
  /** Thin pools: the size of the metadata LV; else (and in rows without the field) `null`. */
  metadataSizeBytes: number | null;
}

export interface Pv {
  name: string;
  /** `null` for a PV in no VG. */
  vg: string | null;
  uuid: string;
  attr: string;
  sizeBytes: number;
  freeBytes: number;
  deviceSizeBytes: number;
  tags: string[];
  metadataAreaBytes: number | null;
  metadataFreeBytes: number | null;
}

export interface ParsedOutput {
  /** The rows of `report[0][kind]`, empty when there is no report (write commands). */
  rows: Record<string, unknown>[];
  log: LogEntry[];
}

/**
 * JSON.parse with one repair: LVM 2.03.16 writes a trailing comma after the last `log` entry in
 * some cases (seen after a `print` entry of `lvcreate`), which JSON.parse refuses. Commas before a
 * closing bracket are dropped outside strings only, and only when the strict parse failed.
 */
export function parseLvmJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    try {
      return JSON.parse(dropTrailingCommas(text));
    } catch {
      throw new LvmError('PARSE', `LVM printed invalid JSON: ${(first as Error).message}`, { cause: first });
    }
  }
}

function dropTrailingCommas(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j] as string)) j++;
      if (text[j] === ']' || text[j] === '}') continue;
    }
    out += ch;
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads the JSON LVM prints with `--reportformat json` or `json_std`: the rows of the `kind`
 * report (`lv`, `vg`, `pv`) and the `log` section. Empty stdout (a write command that printed nothing)
 * gives no rows and no log.
 */
export function parseLvmOutput(stdout: string, kind?: 'lv' | 'vg' | 'pv'): ParsedOutput {
  if (stdout.trim() === '') return { rows: [], log: [] };
  const doc = parseLvmJson(stdout);
  if (!isObject(doc)) throw new LvmError('PARSE', 'LVM JSON output is not an object');
  const log = Array.isArray(doc.log) ? doc.log.filter(isObject).map(toLogEntry) : [];
  if (kind === undefined) return { rows: [], log };
  const report = doc.report;
  if (!Array.isArray(report)) {
    // A failed report command may print only the log.
    if (log.length > 0) return { rows: [], log };
    throw new LvmError('PARSE', `LVM JSON output has no "report" section`);
  }
  const section = report.find((r) => isObject(r) && Array.isArray(r[kind])) as
    | Record<string, unknown>
    | undefined;
  if (!section) throw new LvmError('PARSE', `LVM JSON report has no "${kind}" rows`);
  return { rows: (section[kind] as unknown[]).filter(isObject), log };
}

function toLogEntry(e: Record<string, unknown>): LogEntry {
  return {
    type: str(e.log_type),
    message: str(e.log_message),
    objectType: str(e.log_object_type),
    objectName: str(e.log_object_name),
    objectGroup: str(e.log_object_group),
    errno: Number(e.log_errno ?? 0) || 0,
    retCode: Number(e.log_ret_code ?? 0) || 0,
  };
}

// Values: `json` gives every value as a string ("" when undefined), `json_std` gives numbers,
// `null` for undefined and arrays for string lists. These readers accept both.

function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : String(v);
}

function optStr(v: unknown): string | null {
  const s = str(v);
  return s === '' ? null : s;
}

function field(row: Record<string, unknown>, name: string): unknown {
  if (!(name in row)) throw new LvmError('PARSE', `LVM report row lacks field "${name}"`);
  return row[name];
}

function int(row: Record<string, unknown>, name: string): number {
  const n = optInt(row, name);
  if (n === null) throw new LvmError('PARSE', `LVM report field "${name}" is empty`);
  return n;
}

function optInt(row: Record<string, unknown>, name: string): number | null {
  const v = field(row, name);
  if (v === null || v === '') return null;
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new LvmError('PARSE', `LVM report field "${name}" is not an integer: ${JSON.stringify(v)}`);
  return n;
}

function optFloat(row: Record<string, unknown>, name: string): number | null {
  const v = field(row, name);
  if (v === null || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n))
    throw new LvmError('PARSE', `LVM report field "${name}" is not a number: ${JSON.stringify(v)}`);
  return n;
}

/** `--binary` fields: 1/0, and -1 when LVM cannot tell. */
function optBool(row: Record<string, unknown>, name: string): boolean | null {
  const v = field(row, name);
  if (v === true || v === 1 || v === '1') return true;
  if (v === false || v === 0 || v === '0') return false;
  return null;
}

function list(row: Record<string, unknown>, name: string): string[] {
  const v = field(row, name);
  if (Array.isArray(v)) return v.map(str).filter((s) => s !== '');
  const s = str(v);
  return s === '' ? [] : s.split(',');
}

/** The VG's locking as an `lvs` row carrying `LV_VG_FIELDS` tells it; `null` for a row without them. */
export function vgLockingOfLvRow(
  row: Record<string, unknown>,
): Pick<Vg, 'name' | 'lockType' | 'sharing'> | null {
  if (!('vg_attr' in row) || !('vg_lock_type' in row)) return null;
  return {
    name: str(field(row, 'vg_name')),
    lockType: optStr(row.vg_lock_type),
    sharing: vgAttrSharing(str(row.vg_attr)),
  };
}

export function toVg(row: Record<string, unknown>): Vg {
  const attr = str(field(row, 'vg_attr'));
  return {
    name: str(field(row, 'vg_name')),
    uuid: str(field(row, 'vg_uuid')),
    attr,
    lockType: optStr(field(row, 'vg_lock_type')),
    sharing: vgAttrSharing(attr),
    sizeBytes: int(row, 'vg_size'),
    freeBytes: int(row, 'vg_free'),
    extentSizeBytes: int(row, 'vg_extent_size'),
    extentCount: int(row, 'vg_extent_count'),
    freeExtentCount: int(row, 'vg_free_count'),
    lvCount: int(row, 'lv_count'),
    pvCount: int(row, 'pv_count'),
    tags: list(row, 'vg_tags'),
    metadataAreaBytes: optInt(row, 'vg_mda_size'),
    metadataFreeBytes: optInt(row, 'vg_mda_free'),
  };
}

export function toLv(row: Record<string, unknown>): Lv {
  const attr = decodeLvAttr(str(field(row, 'lv_attr')));
  return {
    vg: str(field(row, 'vg_name')),
    name: str(field(row, 'lv_name')),
    uuid: str(field(row, 'lv_uuid')),
    sizeBytes: int(row, 'lv_size'),
    attr,
    active: attr.active,
    activeLocally: optBool(row, 'lv_active_locally'),
    activeExclusively: optBool(row, 'lv_active_exclusively'),
    open: attr.open,
    tags: list(row, 'lv_tags'),
    pool: optStr(field(row, 'pool_lv')),
    origin: optStr(field(row, 'origin')),
    dataPercent: optFloat(row, 'data_percent'),
    metadataPercent: optFloat(row, 'metadata_percent'),
    layout: list(row, 'lv_layout'),
    role: list(row, 'lv_role'),
    // Optional: rows of an older host helper (or recorded before the field was read) lack it.
    metadataSizeBytes: 'lv_metadata_size' in row ? optInt(row, 'lv_metadata_size') : null,
  };
}

export function toPv(row: Record<string, unknown>): Pv {
  return {
    name: str(field(row, 'pv_name')),
    vg: optStr(field(row, 'vg_name')),
    uuid: str(field(row, 'pv_uuid')),
    attr: str(field(row, 'pv_attr')),
    sizeBytes: int(row, 'pv_size'),
    freeBytes: int(row, 'pv_free'),
    deviceSizeBytes: int(row, 'dev_size'),
    tags: list(row, 'pv_tags'),
    metadataAreaBytes: optInt(row, 'pv_mda_size'),
    metadataFreeBytes: optInt(row, 'pv_mda_free'),
  };
}

/** `lvs` JSON (either flavour) → typed LVs. */
export function parseLvsReport(stdout: string): Lv[] {
  return parseLvmOutput(stdout, 'lv').rows.map(toLv);
}

/** `vgs` JSON (either flavour) → typed VGs. */
export function parseVgsReport(stdout: string): Vg[] {
  return parseLvmOutput(stdout, 'vg').rows.map(toVg);
}

/** `pvs` JSON (either flavour) → typed PVs. */
export function parsePvsReport(stdout: string): Pv[] {
  return parseLvmOutput(stdout, 'pv').rows.map(toPv);
}
