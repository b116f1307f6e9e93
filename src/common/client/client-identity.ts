/**
 * Who is calling: the client IP and the hash of the client's TLS key. Both come from the
 * connection itself; only a peer listed in TRUST_PROXY may speak for someone else through
 * X-Forwarded-For and X-Client-Cert. Anything those headers say from other peers is ignored.
 */
import { X509Certificate } from 'node:crypto';
import type { BlockList } from 'node:net';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { sha256Hex } from '../crypto/hashing';

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the same client as `1.2.3.4`. */
export function normalizeIp(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address.toLowerCase();
}

/** Whether `address` is one of the TRUST_PROXY peers. */
export function isTrusted(address: string, trusted: BlockList): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** The socket peer's address, normalised. */
export function peerIp(request: FastifyRequest): string {
  return normalizeIp(request.raw.socket.remoteAddress ?? '');
}

/**
 * One X-Forwarded-For entry as an address: `ip`, `ip:port`, `[v6]` or `[v6]:port` (proxies and
 * load balancers write all of these). Undefined when it is none of them.
 */
export function forwardedAddress(entry: string): string | undefined {
  const text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  const v4WithPort = /^(\d+\.\d+\.\d+\.\d+):\d{1,5}$/.exec(text);
  const address = bracketed?.[1] ?? v4WithPort?.[1] ?? text;
  if (bracketed && isIP(address) !== 6) return undefined;
  return isIP(address) === 0 ? undefined : normalizeIp(address);
}

/**
 * The client IP: the socket peer, or — when the peer is a trusted proxy — the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy. Entries further left are
 * client-supplied and unverifiable, so the walk stops at the first entry that does not parse,
 * and when no untrusted hop is found the answer is the peer (never the left-most entry, which
 * the client wrote).
 */
export function clientIp(request: FastifyRequest, trusted: BlockList): string {
  const peer = peerIp(request);
  if (!isTrusted(peer, trusted)) return peer;
  const header = request.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').filter((entry) => entry.trim().length > 0);
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = forwardedAddress(chain[i]);
    if (hop === undefined) break;
    if (!isTrusted(hop, trusted)) return hop;
  }
  return peer;
}

/** SHA-256 (hex) of a certificate's DER SubjectPublicKeyInfo. */
export function spkiSha256Hex(certificate: X509Certificate): string {
  return sha256Hex(certificate.publicKey.export({ type: 'spki', format: 'der' }));
}

/**
 * The client's certificate. From a trusted proxy: only X-Client-Cert (URL-encoded PEM) — the
 * proxy's own handshake certificate is the proxy's, never the client's. From any other peer: the
 * certificate of the TLS handshake. Undefined when there is none or the forwarded one does not parse.
 */
export function clientCertificate(request: FastifyRequest, trusted: BlockList): X509Certificate | undefined {
  if (isTrusted(peerIp(request), trusted)) {
    const header = request.headers['x-client-cert'];
    if (typeof header !== 'string' || header.length === 0) return undefined;
    try {
      return new X509Certificate(decodeURIComponent(header));
    } catch {
      return undefined;
    }
  }
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerX509Certificate !== 'function') return undefined;
  return socket.getPeerX509Certificate() ?? undefined;
}

/** SHA-256 (hex) of the DER SPKI of the client's certificate (see clientCertificate); undefined without one. */
export function clientKeyHash(request: FastifyRequest, trusted: BlockList): string | undefined {
  const certificate = clientCertificate(request, trusted);
  return certificate ? spkiSha256Hex(certificate) : undefined;
}
