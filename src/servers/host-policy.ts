/**
 * Where the broker may connect at registration: a miner names a host, and without this check it
 * could point the broker at its own loopback or a private network (SSRF). Addresses are
 * resolved once and the connection goes to the checked address, so DNS cannot swap it later.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { DomainError, ErrorCode } from '../common/errors';

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  // An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPrivateAddress(mapped[1]);
  const family = isIP(address);
  return family !== 0 && PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
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
