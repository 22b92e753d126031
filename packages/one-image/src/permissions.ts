/*
 * OpenNebula's ownership rules, for the `lvm://` and `vol://` sources of `cp`: the new image's owner
 * must be allowed to USE the source VM or image.
 *
 * What oned does (AuthRequest::add_auth, AclManager::authorize, PoolObjectAuth::get_acl_rules):
 * user 0 (oneadmin) and members of group 0 (oneadmin) may do anything; anyone else is allowed when
 * one of the object's three permission rules grants the right — owner (`OWNER_U` for the object's
 * UID), group (`GROUP_U` for members of the object's GID, primary or secondary group) or other
 * (`OTHER_U` for everyone). The rules add up: an owner without `OWNER_U` is still allowed by
 * `OTHER_U`, unlike Unix modes. ACL rules (`oneacl`) and object locks are not evaluated here, so
 * this check can refuse what oned would allow through an ACL (stricter, never looser).
 *
 * Additions to the agreed interface: `Permissions` also has the manage/admin bits; `assertMay`
 * for MANAGE/ADMIN (oned wants MANAGE on a VM for `disk-saveas`); `parseOwnedObjectXml` reads id,
 * owner, group and permissions from `onevm show -x` / `oneimage show -x`; `parsePermissions`
 * takes an optional error code (default INVALID_ARGUMENT) and also accepts the XML text.
 */
import { asNode, intOf, listOf, parseXmlDocument, show, textOf, type XmlNode } from './action-data.js';
import { DsError, type DsErrorCode } from './errors.js';

/** `oneuser show -x`: who the image's owner is and which groups they are in. */
export interface UserData {
  id: number;
  /** Primary group. */
  gid: number;
  /** Every group of the user (`<GROUPS><ID>`), the primary one included. */
  groups: number[];
  name: string;
}

export interface Permissions {
  ownerUse: boolean;
  ownerManage: boolean;
  ownerAdmin: boolean;
  groupUse: boolean;
  groupManage: boolean;
  groupAdmin: boolean;
  otherUse: boolean;
  otherManage: boolean;
  otherAdmin: boolean;
}

export type Operation = 'use' | 'manage' | 'admin';

export interface OwnedObject {
  kind: 'VM' | 'image';
  id: number;
  uid: number;
  gid: number;
  permissions: Permissions;
}

/** User and group 0 are oneadmin's. */
export const ONEADMIN_ID = 0;

const PERMISSION_KEYS: readonly [keyof Permissions, string][] = [
  ['ownerUse', 'OWNER_U'],
  ['ownerManage', 'OWNER_M'],
  ['ownerAdmin', 'OWNER_A'],
  ['groupUse', 'GROUP_U'],
  ['groupManage', 'GROUP_M'],
  ['groupAdmin', 'GROUP_A'],
  ['otherUse', 'OTHER_U'],
  ['otherManage', 'OTHER_M'],
  ['otherAdmin', 'OTHER_A'],
];

/**
 * `<PERMISSIONS><OWNER_U>1</OWNER_U>…</PERMISSIONS>`, as parsed by fast-xml-parser (an object of
 * the nine elements) or as XML text. oned always writes all nine, each 0 or 1.
 */
export function parsePermissions(
  permissionsElement: unknown,
  code: DsErrorCode = 'INVALID_ARGUMENT',
): Permissions {
  let node: XmlNode;
  if (typeof permissionsElement === 'string') {
    node = asNode(parseXmlDocument(permissionsElement, 'PERMISSIONS', code).PERMISSIONS);
  } else {
    node = asNode(permissionsElement);
  }
  const entries = PERMISSION_KEYS.map(([key, element]): [keyof Permissions, boolean] => {
    const text = textOf(node[element])?.trim();
    if (text !== '0' && text !== '1') {
      throw new DsError(
        code,
        text === undefined
          ? `PERMISSIONS/${element} missing`
          : `PERMISSIONS/${element} ${show(text)} is not 0 or 1`,
      );
    }
    return [key, text === '1'];
  });
  return Object.fromEntries(entries) as unknown as Permissions;
}

/** `oneuser show -x` (errors are `ONED`: it is oned's answer). */
export function parseUserXml(xml: string): UserData {
  const doc = parseXmlDocument(xml, 'user XML', 'ONED');
  if (doc.USER === undefined || Array.isArray(doc.USER))
    throw new DsError('ONED', 'user XML has no USER element');
  const user = asNode(doc.USER);
  const id = intOf(user.ID, 'USER/ID', 'ONED', 0);
  const gid = intOf(user.GID, 'USER/GID', 'ONED', 0);
  if (id === undefined || gid === undefined) throw new DsError('ONED', 'user XML has no ID or GID');
  // Only USER/GROUPS/ID: the quota sections further down have ID elements of their own.
  const secondary = listOf(asNode(user.GROUPS).ID).map(
    (g) => intOf(g, 'USER/GROUPS/ID', 'ONED', 0) as number,
  );
  return { id, gid, groups: [...new Set([gid, ...secondary])], name: textOf(user.NAME) ?? '' };
}

/** `onevm show -x` or `oneimage show -x` → what `assertMayUse` needs (errors are `ONED`). */
export function parseOwnedObjectXml(xml: string, kind: 'VM' | 'image'): OwnedObject {
  const element = kind === 'VM' ? 'VM' : 'IMAGE';
  const doc = parseXmlDocument(xml, `${kind} XML`, 'ONED');
  if (doc[element] === undefined || Array.isArray(doc[element])) {
    throw new DsError('ONED', `${kind} XML has no ${element} element`);
  }
  const node = asNode(doc[element]);
  const id = intOf(node.ID, `${element}/ID`, 'ONED', 0);
  const uid = intOf(node.UID, `${element}/UID`, 'ONED', 0);
  const gid = intOf(node.GID, `${element}/GID`, 'ONED', 0);
  if (id === undefined || uid === undefined || gid === undefined) {
    throw new DsError('ONED', `${kind} XML has no ID, UID or GID`);
  }
  if (node.PERMISSIONS === undefined) throw new DsError('ONED', `${kind} XML has no PERMISSIONS`);
  return { kind, id, uid, gid, permissions: parsePermissions(node.PERMISSIONS, 'ONED') };
}

const RIGHT: Record<
  Operation,
  { owner: keyof Permissions; group: keyof Permissions; other: keyof Permissions }
> = {
  use: { owner: 'ownerUse', group: 'groupUse', other: 'otherUse' },
  manage: { owner: 'ownerManage', group: 'groupManage', other: 'otherManage' },
  admin: { owner: 'ownerAdmin', group: 'groupAdmin', other: 'otherAdmin' },
};

/** oned's decision from the object's own permissions (see the top of this file). */
export function may(user: UserData, object: OwnedObject, operation: Operation): boolean {
  const groups = new Set([user.gid, ...user.groups]);
  if (user.id === ONEADMIN_ID || groups.has(ONEADMIN_ID)) return true;
  const right = RIGHT[operation];
  const p = object.permissions;
  return (
    (object.uid === user.id && p[right.owner]) || (groups.has(object.gid) && p[right.group]) || p[right.other]
  );
}

/** Throws `FORBIDDEN` ("user 5 may not use VM 7 (owner 3, group 1)") unless `may` allows. */
export function assertMay(user: UserData, object: OwnedObject, operation: Operation): void {
  if (!may(user, object, operation)) {
    throw new DsError(
      'FORBIDDEN',
      `user ${user.id} may not ${operation} ${object.kind} ${object.id} (owner ${object.uid}, group ${object.gid})`,
    );
  }
}

export function assertMayUse(user: UserData, object: OwnedObject): void {
  assertMay(user, object, 'use');
}
