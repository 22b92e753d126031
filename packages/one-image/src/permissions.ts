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
 * The owner, group and permission flags come from driver-runtime's oned client (`onevm show -x`,
 * `oneimage show -x`, `oneuser show -x`); `assertMay` also checks MANAGE/ADMIN (oned wants MANAGE on
 * a VM for `disk-saveas`).
 */
import type { PermissionFlags } from '@one-gfs2clvm/driver-runtime';
import { DsError } from './errors.js';

/** The new image's owner: the payload's UID, GID and UNAME, and its groups from `oneuser show -x`. */
export interface UserData {
  id: number;
  /** Primary group. */
  gid: number;
  /** Every group of the user (`<GROUPS><ID>`), the primary one included. */
  groups: number[];
  name: string;
}

export type Operation = 'use' | 'manage' | 'admin';

export interface OwnedObject {
  kind: 'VM' | 'image';
  id: number;
  uid: number;
  gid: number;
  permissions: PermissionFlags;
}

/** User and group 0 are oneadmin's. */
export const ONEADMIN_ID = 0;

/** oned's decision from the object's own permissions (see the top of this file). */
export function may(user: UserData, object: OwnedObject, operation: Operation): boolean {
  const groups = new Set([user.gid, ...user.groups]);
  if (user.id === ONEADMIN_ID || groups.has(ONEADMIN_ID)) return true;
  const p = object.permissions;
  return (
    (object.uid === user.id && p.owner[operation]) ||
    (groups.has(object.gid) && p.group[operation]) ||
    p.other[operation]
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
