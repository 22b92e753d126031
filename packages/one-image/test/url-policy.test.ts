import { describe, expect, it } from 'vitest';
import { sizeRefusal } from '../src/size-check.js';
import { addressRefusal, isIpLiteral, parseAllowNets } from '../src/url-policy.js';

describe('addressRefusal (issue 14 item 1)', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['10.0.0.1', 'a private address'],
    ['172.16.5.4', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['fc00::1', 'a private address'],
    ['fd12:3456::1', 'a private address'],
    ['169.254.169.254', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['100.64.0.1', 'a shared address (100.64/10)'],
    ['100.127.255.254', 'a shared address (100.64/10)'],
    ['224.0.0.1', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['0.0.0.0', 'an unspecified address'],
    ['::', 'an unspecified address'],
    ['255.255.255.255', 'a broadcast address'],
    ['192.0.2.1', 'a reserved address (reserved)'],
    // IPv4-mapped and IPv4-compatible forms are judged as the IPv4 address they hold.
    ['::ffff:127.0.0.1', 'a loopback address (127.0.0.1)'],
    ['::ffff:7f00:1', 'a loopback address (127.0.0.1)'],
    ['::ffff:169.254.169.254', 'a link-local address (169.254.169.254)'],
    ['::ffff:10.1.2.3', 'a private address (10.1.2.3)'],
    ['::7f00:1', 'a loopback address (127.0.0.1)'],
    ['::a9fe:a9fe', 'a link-local address (169.254.169.254)'],
    // Translation and tunnel prefixes can lead anywhere; IPv6 outside 2000::/3 is not routed.
    ['64:ff9b::7f00:1', 'a reserved address (rfc6052)'],
    ['2002:7f00:1::', 'a reserved address (6to4)'],
    ['4000::1', 'a reserved address'],
  ])('refuses %s: %s', (address, why) => {
    expect(addressRefusal(address, [])).toBe(why);
  });

  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '172.32.0.1',
    '100.128.0.1',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
  ])('lets the public address %s through', (address) => {
    expect(addressRefusal(address, [])).toBeUndefined();
  });

  it('URL_ALLOW_NETS opens exactly its networks, mapped forms included', () => {
    const allow = parseAllowNets(['127.0.0.1/32', '10.1.0.0/16', 'fd00::/8', '192.168.7.7']);
    expect(addressRefusal('127.0.0.1', allow)).toBeUndefined();
    expect(addressRefusal('::ffff:127.0.0.1', allow)).toBeUndefined();
    expect(addressRefusal('127.0.0.2', allow)).toBe('a loopback address');
    expect(addressRefusal('10.1.200.3', allow)).toBeUndefined();
    expect(addressRefusal('10.2.0.1', allow)).toBe('a private address');
    expect(addressRefusal('fd00::5', allow)).toBeUndefined();
    expect(addressRefusal('fc00::5', allow)).toBe('a private address');
    expect(addressRefusal('192.168.7.7', allow)).toBeUndefined();
    expect(addressRefusal('192.168.7.8', allow)).toBe('a private address');
    expect(addressRefusal('169.254.169.254', allow)).toBe('a link-local address');
  });

  it('parseAllowNets refuses what is not a network with CONFIG', () => {
    expect(() => parseAllowNets(['10.0.0.0/33'])).toThrow(
      expect.objectContaining({
        code: 'CONFIG',
        message: 'URL_ALLOW_NETS: "10.0.0.0/33" is not a network (address/prefix)',
      }),
    );
    expect(() => parseAllowNets(['mirror.example'])).toThrow(/"mirror.example" is not a network/);
    expect(parseAllowNets([])).toEqual([]);
  });

  it('isIpLiteral: dotted quads and IPv6 only (names are resolved)', () => {
    expect(isIpLiteral('127.0.0.1')).toBe(true);
    expect(isIpLiteral('::1')).toBe(true);
    expect(isIpLiteral('mirror.example')).toBe(false);
    expect(isIpLiteral('2130706433')).toBe(false);
  });
});

describe('sizeRefusal (issue 14 item 2)', () => {
  const MiB = 2 ** 20;
  it('refuses a virtual size above SIZE, rounded up to MiB as stat rounds it', () => {
    expect(sizeRefusal(5 * MiB, 5)).toBeUndefined();
    expect(sizeRefusal(5 * MiB + 1, 6)).toBeUndefined();
    expect(sizeRefusal(5 * MiB + 1, 5)).toBe(
      "virtual size 6 MiB exceeds the image's SIZE of 5 MiB (what stat measured)",
    );
    expect(sizeRefusal(2 ** 41, 1)).toMatch(/^virtual size 2097152 MiB exceeds/);
    // stat answers at least 1 MiB; SIZE 0 (nothing accounted) lets nothing in.
    expect(sizeRefusal(512, 1)).toBeUndefined();
    expect(sizeRefusal(512, 0)).toMatch(/SIZE of 0 MiB/);
  });
});
