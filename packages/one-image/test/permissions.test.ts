import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DsError } from '../src/errors.js';
import {
  assertMay,
  assertMayUse,
  type OwnedObject,
  type Permissions,
  parseOwnedObjectXml,
  parsePermissions,
  parseUserXml,
  type UserData,
} from '../src/permissions.js';

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

/** Permissions from the nine bits in `oned`'s order (OWNER_U OWNER_M OWNER_A GROUP_U … OTHER_A). */
function bits(text: string): Permissions {
  const b = [...text].map((c) => c === '1');
  return {
    ownerUse: b[0] ?? false,
    ownerManage: b[1] ?? false,
    ownerAdmin: b[2] ?? false,
    groupUse: b[3] ?? false,
    groupManage: b[4] ?? false,
    groupAdmin: b[5] ?? false,
    otherUse: b[6] ?? false,
    otherManage: b[7] ?? false,
    otherAdmin: b[8] ?? false,
  };
}

describe('parseUserXml (oneuser show -x)', () => {
  it('reads id, primary group, every group and the name — not the quota IDs', () => {
    expect(parseUserXml(fixture('user-5.xml'))).toEqual({
      id: 5,
      gid: 100,
      groups: [100, 101],
      name: 'alice',
    });
  });

  it('a user document without GROUPS (older oned) has its primary group', () => {
    expect(parseUserXml('<USER><ID>1</ID><GID>0</GID><NAME>serveradmin</NAME></USER>')).toEqual({
      id: 1,
      gid: 0,
      groups: [0],
      name: 'serveradmin',
    });
  });

  it('the primary group counts even when GROUPS leaves it out', () => {
    expect(parseUserXml('<USER><ID>9</ID><GID>3</GID><GROUPS><ID>4</ID></GROUPS></USER>').groups).toEqual([
      3, 4,
    ]);
  });

  it.each([
    ['not XML', 'oneuser: command not found', /^ONED: user XML: not XML/],
    ['empty', '', /^ONED: user XML: empty/],
    ['another document', '<GROUP><ID>1</ID></GROUP>', /^ONED: user XML has no USER element/],
    ['no GID', '<USER><ID>1</ID></USER>', /^ONED: user XML has no ID or GID/],
    ['negative id', '<USER><ID>-1</ID><GID>0</GID></USER>', /^ONED: USER\/ID "-1"/],
    [
      'group id garbage',
      '<USER><ID>1</ID><GID>0</GID><GROUPS><ID>0 1</ID></GROUPS></USER>',
      /^ONED: USER\/GROUPS\/ID/,
    ],
    [
      'DOCTYPE',
      '<!DOCTYPE u [<!ENTITY e "0">]><USER><ID>&e;</ID><GID>0</GID></USER>',
      /^ONED: user XML: DOCTYPE/,
    ],
  ])('refuses %s', (_what, xml, message) => {
    expect(failure(() => parseUserXml(xml))).toMatch(message);
  });
});

describe('parsePermissions', () => {
  it('reads the nine bits from a parsed element, numbers or text', () => {
    const element = {
      OWNER_U: '1',
      OWNER_M: '1',
      OWNER_A: '0',
      GROUP_U: 1,
      GROUP_M: '0',
      GROUP_A: '0',
      OTHER_U: ' 0 ',
      OTHER_M: '0',
      OTHER_A: '1',
    };
    expect(parsePermissions(element)).toEqual(bits('110100001'));
  });

  it('reads <PERMISSIONS> XML text', () => {
    const xml =
      '<PERMISSIONS><OWNER_U>0</OWNER_U><OWNER_M>0</OWNER_M><OWNER_A>0</OWNER_A><GROUP_U>0</GROUP_U>' +
      '<GROUP_M>0</GROUP_M><GROUP_A>0</GROUP_A><OTHER_U>1</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS>';
    expect(parsePermissions(xml)).toEqual(bits('000000100'));
  });

  it.each([
    [undefined, /OWNER_U missing/],
    ['', /empty/],
    [{ OWNER_U: '1' }, /OWNER_M missing/],
    [{ ...{ OWNER_U: 'yes' } }, /OWNER_U "yes" is not 0 or 1/],
  ])('refuses %j', (element, message) => {
    expect(failure(() => parsePermissions(element))).toMatch(/^INVALID_ARGUMENT: /);
    expect(failure(() => parsePermissions(element))).toMatch(message);
  });

  it('takes the error code of its caller (oned answers are ONED)', () => {
    expect(failure(() => parsePermissions({}, 'ONED'))).toBe('ONED: PERMISSIONS/OWNER_U missing');
  });
});

describe('parseOwnedObjectXml', () => {
  it('onevm show -x: id, owner, group, permissions', () => {
    expect(parseOwnedObjectXml(fixture('vm-7-owned.xml'), 'VM')).toEqual({
      kind: 'VM',
      id: 7,
      uid: 3,
      gid: 101,
      permissions: bits('110100000'),
    });
  });

  it('oneimage show -x', () => {
    const xml = fixture('cp-vol.xml').replace(/^.*?(<IMAGE>.*<\/IMAGE>).*$/s, '$1');
    expect(parseOwnedObjectXml(xml, 'image')).toMatchObject({ kind: 'image', id: 405, uid: 5, gid: 100 });
  });

  it('refuses a document of the wrong kind or without PERMISSIONS (ONED)', () => {
    expect(failure(() => parseOwnedObjectXml(fixture('vm-7-owned.xml'), 'image'))).toBe(
      'ONED: image XML has no IMAGE element',
    );
    expect(failure(() => parseOwnedObjectXml('<VM><ID>7</ID><UID>3</UID><GID>1</GID></VM>', 'VM'))).toBe(
      'ONED: VM XML has no PERMISSIONS',
    );
    expect(failure(() => parseOwnedObjectXml('<VM><ID>7</ID></VM>', 'VM'))).toBe(
      'ONED: VM XML has no ID, UID or GID',
    );
  });
});

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
    const user = parseUserXml(fixture('user-5.xml'));
    const object = parseOwnedObjectXml(fixture('vm-7-owned.xml'), 'VM');
    expect(failure(() => assertMayUse(user, object))).toBe('allowed');
    expect(failure(() => assertMayUse({ ...user, groups: [100] }, object))).toBe(
      'FORBIDDEN: user 5 may not use VM 7 (owner 3, group 101)',
    );
  });
});
