import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** What `one_datastore.rb` reads from a `DS_DRIVER_ACTION_DATA` document to pick a script. */
export interface DsType {
  /** `/DS_DRIVER_ACTION_DATA/DATASTORE/DS_MAD`, `''` when absent. */
  dsMad: string;
  /** `…/DATASTORE/TM_MAD` when `…/DATASTORE/TYPE` is exactly `1` (system DS), else `''`. */
  systemTmMad: string;
}

// Values are read as text, untrimmed, like REXML's `.text`: `<TYPE> 1 </TYPE>` is not a system DS.
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: false });

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

function child(node: unknown, name: string): unknown {
  return typeof node === 'object' && node !== null
    ? first((node as Record<string, unknown>)[name])
    : undefined;
}

function text(node: unknown): string {
  if (typeof node === 'string') return node;
  const inner = child(node, '#text');
  return typeof inner === 'string' ? inner : '';
}

/**
 * `get_ds_type` of `one_datastore.rb`. Returns `undefined` for a payload without a root element —
 * the Ruby thread dies on it and no reply is sent.
 */
export function readDsType(xml: string): DsType | undefined {
  if (XMLValidator.validate(xml) !== true) return undefined;
  const doc = parser.parse(xml) as unknown;
  const datastore = child(child(doc, 'DS_DRIVER_ACTION_DATA'), 'DATASTORE');
  const dsMad = text(child(datastore, 'DS_MAD'));
  const systemTmMad = text(child(datastore, 'TYPE')) === '1' ? text(child(datastore, 'TM_MAD')) : '';
  return { dsMad, systemTmMad };
}

export interface DsActionDataInput {
  dsMad: string;
  tmMad?: string;
  /** 0 image, 1 system, 2 file, 3 backup. Default 0. */
  type?: number;
  /** Datastore id. Default 0. */
  id?: number;
  /** Extra XML put inside `<DATASTORE>` (e.g. `<BASE_PATH>…</BASE_PATH><TEMPLATE>…</TEMPLATE>`). */
  datastoreExtra?: string;
  /** Extra XML put before `<DATASTORE>` (e.g. an `<IMAGE>` element). */
  before?: string;
  /** Extra XML put after `<DATASTORE>` (e.g. `<DATASTORE_LOCATION>`, `<MONITOR_VM_DISKS>`). */
  after?: string;
}

/** A minimal `DS_DRIVER_ACTION_DATA` document in oned's shape (CDATA text, no whitespace). */
export function dsActionData(input: DsActionDataInput): string {
  const cdata = (value: string) => `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
  return (
    `<DS_DRIVER_ACTION_DATA>${input.before ?? ''}<DATASTORE><ID>${input.id ?? 0}</ID>` +
    `<DS_MAD>${cdata(input.dsMad)}</DS_MAD><TM_MAD>${cdata(input.tmMad ?? '')}</TM_MAD>` +
    `<TYPE>${input.type ?? 0}</TYPE>${input.datastoreExtra ?? ''}</DATASTORE>${input.after ?? ''}</DS_DRIVER_ACTION_DATA>`
  );
}
