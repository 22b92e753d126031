/*
 * oned's XML (src/one-xml.ts): permission flags from oned's documents, and malformed or hostile
 * XML refused with one line. Fixtures: vm-7-owned.xml (`onevm show -x`, pretty-printed as the CLI
 * prints it) and image-405.xml (`oneimage show -x`: the IMAGE of one-image's cp-vol.xml).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DriverError } from '../src/errors.js';
import { parseImageXml, parseUserXml, parseVmXml } from '../src/one-client.js';
import { parseCheckedXml, parseXml, permissionFlags, type XmlFail } from '../src/one-xml.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

/** oned's nine bits in its order (OWNER_U OWNER_M OWNER_A GROUP_U … OTHER_A) as XML. */
const permissionsXml = (bits: string) =>
  ['OWNER', 'GROUP', 'OTHER']
    .flatMap((who) => ['U', 'M', 'A'].map((r) => `${who}_${r}`))
    .map((name, i) => `<${name}>${bits[i]}</${name}>`)
    .join('');

class Refused extends Error {}
const fail: XmlFail = (message, cause) => new Refused(message, { cause });

/** The one line a refusal gives (and that it is one line; the client's are DriverError ONED). */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof Refused) && !DriverError.isInstance(error)) throw error;
    if (DriverError.isInstance(error)) expect(error.code).toBe('ONED');
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message.length).toBeLessThan(200);
    return error.message;
  }
  throw new Error('not refused');
}

describe('permission flags from oned documents', () => {
  const ownerUseManageGroupUse = {
    owner: { use: true, manage: true, admin: false },
    group: { use: true, manage: false, admin: false },
    other: { use: false, manage: false, admin: false },
  };

  it('onevm show -x (vm-7-owned.xml): owner, group and flags', () => {
    expect(parseVmXml(fixture('vm-7-owned.xml')).owner).toEqual({
      uid: 3,
      gid: 101,
      permissions: ownerUseManageGroupUse,
    });
  });

  it('oneimage show -x (image-405.xml): owner, group and flags', () => {
    expect(parseImageXml(fixture('image-405.xml')).owner).toEqual({
      uid: 5,
      gid: 100,
      permissions: ownerUseManageGroupUse,
    });
  });

  it('each of the nine bits lands on its own flag', () => {
    const vm = parseVmXml(
      `<VM><ID>1</ID><UID>2</UID><GID>3</GID><PERMISSIONS>${permissionsXml('001010100')}</PERMISSIONS></VM>`,
    );
    expect(vm.owner?.permissions).toEqual({
      owner: { use: false, manage: false, admin: true },
      group: { use: false, manage: true, admin: false },
      other: { use: true, manage: false, admin: false },
    });
  });

  it('the client reads a missing or odd bit as no right (as it always did)', () => {
    const none = { use: false, manage: false, admin: false };
    expect(parseVmXml('<VM><ID>1</ID><UID>2</UID><GID>3</GID></VM>').owner?.permissions).toEqual({
      owner: none,
      group: none,
      other: none,
    });
    expect(permissionFlags({ OWNER_U: 'yes', GROUP_U: ' 1 ', OTHER_U: 1 })).toEqual({
      owner: none,
      group: { ...none, use: true },
      other: { ...none, use: true },
    });
  });

  it('with a fail, a missing or odd bit is refused, the first in oned order named', () => {
    expect(refusal(() => permissionFlags(undefined, fail))).toBe('PERMISSIONS/OWNER_U missing');
    expect(refusal(() => permissionFlags({ OWNER_U: '1' }, fail))).toBe('PERMISSIONS/OWNER_M missing');
    const element = parseXml(`<P>${permissionsXml('11010000x')}</P>`, 'P', fail).P;
    expect(refusal(() => permissionFlags(element, fail))).toBe('PERMISSIONS/OTHER_A "x" is not 0 or 1');
    expect(
      permissionFlags(parseXml(`<P>${permissionsXml('000000001')}</P>`, 'P', fail).P, fail).other,
    ).toEqual({
      use: false,
      manage: false,
      admin: true,
    });
  });
});

describe('malformed or hostile XML: one line', () => {
  const laughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' +
    '<DS_DRIVER_ACTION_DATA><NAME>&lol3;</NAME></DS_DRIVER_ACTION_DATA>';
  const external =
    '<?xml version="1.0"?><!DOCTYPE v [<!ENTITY x SYSTEM "file:///etc/passwd">]><VM><ID>1</ID><NAME>&x;</NAME></VM>';

  it.each([
    ['empty', '', 'P: empty document'],
    ['entity expansion', laughs, 'P: DOCTYPE not accepted'],
    ['external entity', external, 'P: DOCTYPE not accepted'],
    ['a NUL byte', '<A>\u0000</A>', 'P: NUL byte in document'],
    ['over the limit', `<A>${'x'.repeat(1000)}</A>`, 'P: document over 1000 bytes'],
    ['not closed', '<A><B>1</B>', /^P: not XML: .* \(line 1\)$/],
    ['crossed', '<A>\n<B>1</A></B>', /^P: not XML: .* \(line 2\)$/],
    ['not XML at all', 'oneuser: command not found', /^P: not XML: /],
  ])('checked document, %s', (_what, xml, line) => {
    expect(refusal(() => parseCheckedXml(xml, 'P', fail, 1000))).toMatch(line);
  });

  it("oned's answers: an external entity is refused, nothing read from the file", () => {
    expect(refusal(() => parseVmXml(external))).toBe('VM XML: not XML: External entities are not supported');
  });

  it("oned's answers: entities are not expanded", () => {
    expect(JSON.stringify(parseXml(laughs, 'P', fail)).length).toBeLessThan(200);
  });

  it("oned's answers: a document that is not the one asked for is one ONED line", () => {
    expect(refusal(() => parseUserXml('oneuser: command not found'))).toBe(
      "USER GID missing in oned's answer",
    );
    expect(refusal(() => parseVmXml('<VM><NAME>x</NAME>'))).toBe("VM ID missing in oned's answer");
  });
});
