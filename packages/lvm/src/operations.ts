/**
 * Every LVM operation as data. Both back-ends (plain `lvm` argv, host-helper verbs) turn one of these
 * into argv; the `Lvm` class validates names before it builds one.
 */
export type ActivationMode = 'exclusive' | 'shared' | 'local';

export type Operation =
  | { op: 'reportVgs'; vg?: string }
  | { op: 'reportLvs'; vg?: string; lv?: string }
  | { op: 'reportPvs' }
  | {
      op: 'create';
      vg: string;
      lv: string;
      sizeBytes: number;
      kind: 'linear' | 'thin-pool';
      tags: readonly string[];
      activate: boolean;
    }
  | { op: 'createThin'; vg: string; pool: string; lv: string; sizeBytes: number; tags: readonly string[] }
  /** `sizeBytes` given: a thick (COW) snapshot of that size; omitted: a thin snapshot. */
  | { op: 'snapshot'; vg: string; origin: string; lv: string; sizeBytes?: number; tags: readonly string[] }
  | { op: 'remove'; vg: string; lv: string }
  | { op: 'rename'; vg: string; from: string; to: string }
  /** `metadataSizeBytes`: a thin pool's metadata LV grown to that size by the same `lvextend`. */
  | { op: 'extend'; vg: string; lv: string; sizeBytes: number; metadataSizeBytes?: number }
  /**
   * `addTags` (0–2) / `delTag`, `addTag`: the tag changes in the same `lvchange` (LVM commits them
   * before it changes the activation).
   */
  | { op: 'activate'; vg: string; lv: string; mode: ActivationMode; addTags?: readonly string[] }
  | { op: 'deactivate'; vg: string; lv: string; delTag?: string; addTag?: string }
  | { op: 'refresh'; vg: string; lv: string }
  | { op: 'tag'; vg: string; lv: string; action: 'add' | 'del'; tag: string }
  | { op: 'lockStart'; vg: string }
  | { op: 'lockStatus'; vg: string };

/** What a back-end needs to know about the LVM it talks to (found by trying, see config.ts). */
export interface Capabilities {
  jsonStd: boolean;
  setAutoActivation: boolean;
}

/** One command of an operation; `json` says whether stdout carries LVM JSON (report and/or log). */
export interface Command {
  argv: string[];
  json: boolean;
}

/** Operations that change VG metadata: serialised by the caller's lock in lock mode `none`. */
export function changesMetadata(op: Operation): boolean {
  switch (op.op) {
    case 'create':
    case 'createThin':
    case 'snapshot':
    case 'remove':
    case 'rename':
    case 'extend':
    case 'tag':
      return true;
    case 'activate':
      return (op.addTags ?? []).length > 0;
    case 'deactivate':
      return op.delTag !== undefined || op.addTag !== undefined;
    default:
      return false;
  }
}

/** `vg` or `vg/lv`, for messages. */
export function operationTarget(op: Operation): string {
  if (!('vg' in op) || op.vg === undefined) return 'all';
  if ('lv' in op && op.lv !== undefined) return `${op.vg}/${op.lv}`;
  if ('from' in op) return `${op.vg}/${op.from}`;
  return op.vg;
}
