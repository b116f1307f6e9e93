/**
 * Where the broker may connect at registration: a miner names a host, and without this check it
 * could point the broker at its own loopback or a private network (SSRF). Addresses are
 * resolved once and the connection goes to the checked address, so DNS cannot swap it later.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { DomainError, ErrorCode } from '../common/errors';

/**
 * IPv4 ranges that are not globally reachable unicast (IANA special-purpose registry, plus
 * multicast and the reserved class E). Everything else in IPv4 may be dialled.
 */
const IPV4_REFUSED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const) {
  IPV4_REFUSED.addSubnet(net, bits, 'ipv4');
}

/**
 * IPv6: only global unicast (2000::/3) may be dialled, minus its special-purpose blocks: the IETF
 * protocol block 2001::/23 (Teredo 2001::/32 among them), documentation 2001:db8::/32 and
 * 3fff::/20. Forms that carry an IPv4 address are decoded first (see isPrivateAddress).
 */
const IPV6_REFUSED_IN_GLOBAL = new BlockList();
for (const [net, bits] of [
  ['2001::', 23],
  ['2001:db8::', 32],
  ['3fff::', 20],
] as const) {
  IPV6_REFUSED_IN_GLOBAL.addSubnet(net, bits, 'ipv6');
}

/** The 16 bytes of an IPv6 address that isIP() accepted (zone id dropped), or null. */
export function ipv6Bytes(address: string): Uint8Array | null {
  let text = address.split('%')[0];
  const bytes = new Uint8Array(16);
  // A trailing dotted IPv4 stands for the last two groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted) {
    if (isIP(dotted[2]) !== 4) return null;
    tail = dotted[2].split('.').map(Number);
    text = dotted[1].endsWith('::') ? dotted[1] : dotted[1].slice(0, -1);
  }
  const groupsWanted = 8 - tail.length / 2;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => (/^[0-9a-fA-F]{1,4}$/.test(group) ? parseInt(group, 16) : NaN)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const zeros = groupsWanted - head.length - rest.length;
  if (halves.length === 1 ? zeros !== 0 : zeros < 1) return null;
  const groups = [...head, ...new Array<number>(zeros).fill(0), ...rest];
  if (groups.some((group) => Number.isNaN(group))) return null;
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  bytes.set(tail, 16 - tail.length);
  return bytes;
}

const startsWith = (bytes: Uint8Array, prefix: number[]) => prefix.every((byte, i) => bytes[i] === byte);
const ipv4At = (bytes: Uint8Array, offset: number) => Array.from(bytes.subarray(offset, offset + 4)).join('.');

function isRefusedIpv4(address: string): boolean {
  return IPV4_REFUSED.check(address, 'ipv4');
}

/**
 * True unless `address` is a globally reachable unicast address. An IPv6 address that carries an
 * IPv4 address the network translates to (IPv4-mapped, the NAT64 well-known prefix 64:ff9b::/96,
 * 6to4 2002::/16) is judged by that IPv4 address; IPv4-compatible (::/96), SIIT
 * (::ffff:0:0:0/96), the local-use NAT64 prefix 64:ff9b:1::/48 (its IPv4 sits where the site's
 * prefix length puts it) and Teredo are refused outright, as is anything that does not parse.
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return isRefusedIpv4(address);
  if (family !== 6) return true;
  const bytes = ipv6Bytes(address);
  if (!bytes) return true;
  const zeros = (n: number) => new Array<number>(n).fill(0);
  if (startsWith(bytes, [...zeros(10), 0xff, 0xff])) return isRefusedIpv4(ipv4At(bytes, 12));
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, ...zeros(8)])) return isRefusedIpv4(ipv4At(bytes, 12));
  if (startsWith(bytes, [0x20, 0x02])) return isRefusedIpv4(ipv4At(bytes, 2));
  if ((bytes[0] & 0xe0) !== 0x20) return true;
  const canonical = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16)).join(':');
  return IPV6_REFUSED_IN_GLOBAL.check(canonical, 'ipv6');
}

/** The host's addresses (an IP literal is its own), or HOST_UNRESOLVABLE. */
export async function resolveHost(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    const results = await lookup(host, { all: true, verbatim: true });
    if (results.length === 0) throw new Error('no addresses');
    return results.map((result) => result.address);
  } catch {
    throw new DomainError(ErrorCode.HOST_UNRESOLVABLE, `host ${host} does not resolve`);
  }
}

/** The address to connect to: refuses private/loopback ones unless ALLOW_PRIVATE_HOSTS. */
export async function connectableAddress(host: string, allowPrivate: boolean): Promise<string> {
  const addresses = await resolveHost(host);
  if (!allowPrivate && addresses.some(isPrivateAddress)) {
    throw new DomainError(ErrorCode.PRIVATE_HOST, 'host is a private or loopback address (set ALLOW_PRIVATE_HOSTS=true to allow)');
  }
  return addresses[0];
}
