import { readFileSync } from 'node:fs';
import { type PermissionFlags, parseUserXml, parseVmXml } from '@one-gfs2clvm/driver-runtime';
import { describe, expect, it } from 'vitest';
import { DsError } from '../src/errors.js';
import { assertMay, assertMayUse, type OwnedObject, type UserData } from '../src/permissions.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (DsError.isInstance(error)) {
      expect(error.message).not.toMatch(/\n/);
      return `${error.code}: ${error.message}`;
    }
    throw error;
  }
  return 'allowed';
}

/** Permission flags from the nine bits in `oned`'s order (OWNER_U OWNER_M OWNER_A GROUP_U … OTHER_A). */
function bits(text: string): PermissionFlags {
  const b = [...text].map((c) => c === '1');
  const rights = (at: number) => ({
    use: b[at] ?? false,
    manage: b[at + 1] ?? false,
    admin: b[at + 2] ?? false,
  });
  return { owner: rights(0), group: rights(3), other: rights(6) };
}

describe('assertMayUse: oned rules', () => {
  const alice: UserData = { id: 5, gid: 100, groups: [100, 101], name: 'alice' };
  const vm = (uid: number, gid: number, perms: string): OwnedObject => ({
    kind: 'VM',
    id: 7,
    uid,
    gid,
    permissions: bits(perms),
  });

  it.each([
    // [case, user, object, expected]
    ['owner with OWNER_U', alice, vm(5, 1, '100000000'), 'allowed'],
    [
      'owner without any U bit',
      alice,
      vm(5, 1, '011011011'),
      'FORBIDDEN: user 5 may not use VM 7 (owner 5, group 1)',
    ],
    ['primary group with GROUP_U', alice, vm(3, 100, '000100000'), 'allowed'],
    ['secondary group with GROUP_U', alice, vm(3, 101, '000100000'), 'allowed'],
    [
      'group member, GROUP_U off',
      alice,
      vm(3, 101, '100000000'),
      'FORBIDDEN: user 5 may not use VM 7 (owner 3, group 101)',
    ],
    ['stranger, OTHER_U', alice, vm(3, 1, '000000100'), 'allowed'],
    [
      'stranger, OWNER_U and GROUP_U only',
      alice,
      vm(3, 1, '110110000'),
      'FORBIDDEN: user 5 may not use VM 7 (owner 3, group 1)',
    ],
    // oned's three rules add up (unlike Unix modes): the owner is also "other".
    ['owner without OWNER_U but OTHER_U', alice, vm(5, 1, '000000100'), 'allowed'],
    ['owner without OWNER_U but in the group with GROUP_U', alice, vm(5, 100, '000100000'), 'allowed'],
    ['oneadmin user', { id: 0, gid: 0, groups: [0], name: 'oneadmin' }, vm(3, 1, '000000000'), 'allowed'],
    [
      'member of the oneadmin group (secondary)',
      { id: 8, gid: 100, groups: [100, 0], name: 'ops' },
      vm(3, 1, '000000000'),
      'allowed',
    ],
    [
      'member of the oneadmin group (primary only)',
      { id: 8, gid: 0, groups: [], name: 'ops' },
      vm(3, 1, '000000000'),
      'allowed',
    ],
    [
      'manage bits do not grant use',
      alice,
      vm(5, 100, '010010010'),
      'FORBIDDEN: user 5 may not use VM 7 (owner 5, group 100)',
    ],
  ])('%s', (_case, user, object, expected) => {
    expect(failure(() => assertMayUse(user, object))).toBe(expected);
  });

  it('names an image as image', () => {
    const image: OwnedObject = { kind: 'image', id: 400, uid: 3, gid: 1, permissions: bits('100000000') };
    expect(failure(() => assertMayUse(alice, image))).toBe(
      'FORBIDDEN: user 5 may not use image 400 (owner 3, group 1)',
    );
  });

  it('assertMay checks MANAGE with the M bits (oned wants it on a VM for disk-saveas)', () => {
    expect(failure(() => assertMay(alice, vm(5, 1, '100000000'), 'manage'))).toBe(
      'FORBIDDEN: user 5 may not manage VM 7 (owner 5, group 1)',
    );
    expect(failure(() => assertMay(alice, vm(5, 1, '010000000'), 'manage'))).toBe('allowed');
    expect(failure(() => assertMay(alice, vm(3, 101, '000010000'), 'manage'))).toBe('allowed');
    expect(failure(() => assertMay(alice, vm(3, 1, '000000001'), 'admin'))).toBe('allowed');
  });

  it('the fixtures together: alice (users, project) may use bob’s VM 7 through group project', () => {
    const user = { ...parseUserXml(fixture('user-5.xml')), name: 'alice' };
    const vm = parseVmXml(fixture('vm-7-owned.xml'));
    if (!vm.owner) throw new Error('vm-7-owned.xml: no owner');
    const object: OwnedObject = { kind: 'VM', id: vm.id, ...vm.owner };
    expect(object.permissions).toEqual(bits('110100000'));
    expect(failure(() => assertMayUse(user, object))).toBe('allowed');
    expect(failure(() => assertMayUse({ ...user, groups: [100] }, object))).toBe(
      'FORBIDDEN: user 5 may not use VM 7 (owner 3, group 101)',
    );
  });
});
