import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Gfs2Error } from '../src/errors.js';
import { assertSafeImage, parseQemuImgInfo } from '../src/image-info.js';

// Real `qemu-img info --output=json` output, made by fixtures/qemu-img/make-fixtures.sh.
const fixture = (name: string): string =>
  readFileSync(join(import.meta.dirname, 'fixtures/qemu-img', `${name}.json`), 'utf8');
const dir = '/tmp/one-gfs2clvm-qemu-img-fixtures';

function refusal(json: string): Gfs2Error {
  try {
    assertSafeImage(parseQemuImgInfo(json));
  } catch (error) {
    if (Gfs2Error.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('assertSafeImage on real qemu-img output', () => {
  it.each([
    ['raw', 'raw', 1048576, `${dir}/raw.img`],
    ['qcow2', 'qcow2', 1048576, `${dir}/plain.qcow2`],
    ['vmdk-monolithic', 'vmdk', 1048576, `${dir}/monolithic.vmdk`],
    ['raw-looks-qcow2.as-raw', 'raw', 1048576, `${dir}/raw-looks-qcow2.img`],
  ])('accepts %s', (name, format, virtualSize, filename) => {
    const probe = assertSafeImage(parseQemuImgInfo(fixture(name)));
    expect(probe).toMatchObject({ format, virtualSize, filename });
    expect(probe.actualSize).toBeGreaterThan(0);
  });

  it.each([
    ['qcow2-backing-shadow', 'UNSAFE_IMAGE', 'unsafe image: backing file "/etc/shadow"'],
    ['qcow2-data-file', 'UNSAFE_IMAGE', `unsafe image: external data file "${dir}/data.raw"`],
    ['qcow2-data-file-shadow', 'UNSAFE_IMAGE', 'unsafe image: external data file "/etc/shadow"'],
    ['vmdk-multi-extent', 'UNSAFE_IMAGE', 'unsafe image: VMDK with 2 extents'],
    [
      'vmdk-monolithic-flat',
      'UNSAFE_IMAGE',
      `unsafe image: VMDK extent "${dir}/flat-flat.vmdk" is another file`,
    ],
    ['vmdk-descriptor-shadow', 'UNSAFE_IMAGE', 'unsafe image: VMDK with 2 extents'],
    // A guest wrote a qcow2 header to its raw disk: guessed, that image reads /etc/shadow.
    ['raw-looks-qcow2.guessed', 'UNSAFE_IMAGE', 'unsafe image: backing file "/etc/shadow"'],
    ['qed', 'UNSUPPORTED_IMAGE', 'image format "qed" not accepted'],
  ])('refuses %s (%s)', (name, code, words) => {
    const error = refusal(fixture(name));
    expect(error.code).toBe(code);
    expect(error.message.startsWith(words)).toBe(true);
    expect(error.message).not.toContain('\n');
  });
});

describe('assertSafeImage on synthetic cases', () => {
  const base = JSON.parse(fixture('qcow2')) as Record<string, unknown>;
  const vmdk = JSON.parse(fixture('vmdk-monolithic')) as Record<string, unknown>;
  const variant = (from: Record<string, unknown>, change: Record<string, unknown>): string =>
    JSON.stringify({ ...from, ...change });

  it('refuses a single VMDK extent naming another file (hand-made descriptor)', () => {
    const data = { 'create-type': 'monolithicFlat', extents: [{ filename: '/etc/shadow', format: 'FLAT' }] };
    const json = variant(vmdk, { 'format-specific': { type: 'vmdk', data } });
    expect(refusal(json).message).toContain('VMDK extent "/etc/shadow" is another file');
  });

  it('refuses a VMDK whose extents are not reported', () => {
    const json = variant(vmdk, { 'format-specific': undefined });
    expect(refusal(json).message).toContain('VMDK with 0 extents');
  });

  // qemu ≥ 8 lists child nodes; these shapes follow its QAPI schema (BlockChildInfo).
  it.each([
    [[{ name: 'backing', info: { filename: '/etc/shadow' } }], 'it opens backing "/etc/shadow"'],
    [[{ name: 'data-file', info: { filename: '/etc/shadow' } }], 'it opens data-file "/etc/shadow"'],
    [[{ name: 'extents.1', info: { filename: '/etc/passwd' } }], 'it opens extents.1 "/etc/passwd"'],
  ])('refuses child nodes %j', (children, words) => {
    expect(refusal(variant(base, { children })).message).toContain(words);
  });

  it('accepts the protocol child `file` of qemu ≥ 8', () => {
    const children = [{ name: 'file', info: { filename: base.filename, format: 'file' } }];
    expect(assertSafeImage(parseQemuImgInfo(variant(base, { children }))).format).toBe('qcow2');
  });

  it('refuses encrypted and corrupt images', () => {
    expect(refusal(variant(base, { encrypted: true })).message).toMatch(/^encrypted image not supported/);
    const corrupt = { type: 'qcow2', data: { compat: '1.1', corrupt: true } };
    expect(refusal(variant(base, { 'format-specific': corrupt })).code).toBe('UNSUPPORTED_IMAGE');
  });

  it('honours a narrower list of formats', () => {
    expect(() => assertSafeImage(parseQemuImgInfo(fixture('qcow2')), { allowedFormats: ['raw'] })).toThrow(
      'image format "qcow2" not accepted (raw)',
    );
  });

  it.each([
    ['not json', 'qemu-img info printed no JSON'],
    ['[]', 'no JSON object'],
    ['{"filename":"/x","virtual-size":1}', 'gave no format'],
    ['{"format":"raw","virtual-size":1}', 'gave no filename'],
    ['{"format":"raw","filename":"/x"}', 'virtual-size "undefined"'],
    ['{"format":"raw","filename":"/x","virtual-size":-1}', 'virtual-size "-1"'],
    ['{"format":"raw","filename":"/x","virtual-size":1e300}', 'virtual-size "1e+300"'],
    ['{"format":"raw","filename":"/x","virtual-size":"1"}', 'virtual-size "1"'],
  ])('parse refuses %j', (json, words) => {
    try {
      parseQemuImgInfo(json);
      expect.unreachable();
    } catch (error) {
      expect((error as Gfs2Error).code).toBe('PROBE_FAILED');
      expect((error as Gfs2Error).message).toContain(words);
    }
  });
});
