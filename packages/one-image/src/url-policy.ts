/*
 * Which addresses a URL import may connect to (design §5, "URLs are untrusted too"). Pure: no name
 * is resolved and nothing is connected here; `url-fetch.ts` resolves the name, asks `addressRefusal`
 * about every address and connects to the one it checked.
 *
 * Refused unless URL_ALLOW_NETS lists a network holding the address: everything that is not public
 * unicast — loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16,
 * fe80::/10), shared (100.64/10), multicast, unspecified, broadcast and the reserved ranges (NAT64,
 * 6to4, Teredo, documentation, benchmarking …), and IPv6 outside 2000::/3. An IPv4-mapped
 * (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`) address is judged as the IPv4 address it holds.
 */
import ipaddr from 'ipaddr.js';
import { DsError } from './errors.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** One URL_ALLOW_NETS entry, parsed. */
export interface AllowedNet {
  text: string;
  net: [Address, number];
}

/** What the ranges of ipaddr.js are called in the refusal line. */
const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  uniqueLocal: 'a private address',
  linkLocal: 'a link-local address',
  carrierGradeNat: 'a shared address (100.64/10)',
  multicast: 'a multicast address',
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
};

/**
 * Parses URL_ALLOW_NETS words (`10.1.0.0/16`, `fd00::/8`, or one address); throws `CONFIG` naming
 * the first one that is not a network.
 */
export function parseAllowNets(words: readonly string[]): AllowedNet[] {
  return words.map((text) => {
    try {
      if (text.includes('/')) return { text, net: ipaddr.parseCIDR(text) };
      const address = ipaddr.parse(text);
      return { text, net: [address, address.kind() === 'ipv4' ? 32 : 128] };
    } catch {
      throw new DsError(
        'CONFIG',
        `URL_ALLOW_NETS: ${JSON.stringify(text.slice(0, 60))} is not a network (address/prefix)`,
      );
    }
  });
}

/** `true` for a literal IPv4 or IPv6 address (no brackets). */
export function isIpLiteral(text: string): boolean {
  return ipaddr.isValid(text) && (ipaddr.IPv4.isValidFourPartDecimal(text) || text.includes(':'));
}

/** The address as judged: IPv4-mapped and IPv4-compatible IPv6 forms become the IPv4 address. */
function effective(address: Address): Address {
  if (address.kind() === 'ipv4') return address;
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const parts = v6.parts;
  // ::a.b.c.d (deprecated IPv4-compatible); :: and ::1 are themselves (unspecified, loopback).
  if (parts.slice(0, 6).every((p) => p === 0) && (parts[6] !== 0 || (parts[7] ?? 0) > 1))
    return ipaddr.fromByteArray(v6.toByteArray().slice(12));
  return address;
}

function inNet(address: Address, [net, bits]: [Address, number]): boolean {
  if (address.kind() === net.kind()) return address.match(net, bits);
  // An IPv4 address against an IPv6 network (::ffff:0:0/96 written by an operator) and back.
  if (address.kind() === 'ipv4') return (address as ipaddr.IPv4).toIPv4MappedAddress().match(net, bits);
  const v6 = address as ipaddr.IPv6;
  return v6.isIPv4MappedAddress() && v6.toIPv4Address().match(net, bits);
}

/**
 * Why a URL import may not connect to `address` (`"a loopback address"` …), or `undefined` when it
 * may: a public unicast address, or one inside a network of `allow`. Throws `INVALID_ARGUMENT`
 * when `address` is not an IP address.
 */
export function addressRefusal(address: string, allow: readonly AllowedNet[]): string | undefined {
  let parsed: Address;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    throw new DsError('INVALID_ARGUMENT', `${JSON.stringify(address.slice(0, 60))} is not an IP address`);
  }
  const judged = effective(parsed);
  if (allow.some(({ net }) => inNet(parsed, net) || inNet(judged, net))) return undefined;
  const range = judged.range();
  if (range === 'unicast') {
    // ipaddr.js calls every IPv6 address outside its special ranges unicast; global unicast is 2000::/3.
    if (judged.kind() === 'ipv6' && !judged.match(ipaddr.parseCIDR('2000::/3'))) return 'a reserved address';
    return undefined;
  }
  const words = RANGE_WORDS[range] ?? `a reserved address (${range})`;
  return judged === parsed ? words : `${words} (${judged.toString()})`;
}
