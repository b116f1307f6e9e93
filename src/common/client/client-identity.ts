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

function isTrusted(address: string, trusted: BlockList): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** The socket peer's address, normalised. */
export function peerIp(request: FastifyRequest): string {
  return normalizeIp(request.raw.socket.remoteAddress ?? '');
}

/**
 * The client IP: the socket peer, or — when the peer is a trusted proxy — the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy (entries further left are
 * client-supplied and unverifiable).
 */
export function clientIp(request: FastifyRequest, trusted: BlockList): string {
  const peer = peerIp(request);
  if (!isTrusted(peer, trusted)) return peer;
  const header = request.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : header ?? '')
    .split(',')
    .map((entry) => normalizeIp(entry.trim()))
    .filter((entry) => isIP(entry) !== 0);
  for (let i = chain.length - 1; i >= 0; i--) {
    if (!isTrusted(chain[i], trusted)) return chain[i];
  }
  return chain[0] ?? peer;
}

/** SHA-256 (hex) of a certificate's DER SubjectPublicKeyInfo. */
export function spkiSha256Hex(certificate: X509Certificate): string {
  return sha256Hex(certificate.publicKey.export({ type: 'spki', format: 'der' }));
}

/**
 * SHA-256 (hex) of the DER SPKI of the client's certificate: from the TLS handshake, or — only
 * from a trusted proxy — from X-Client-Cert (URL-encoded PEM). Undefined when there is none or
 * the forwarded one does not parse.
 */
export function clientKeyHash(request: FastifyRequest, trusted: BlockList): string | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerX509Certificate === 'function') {
    const certificate = socket.getPeerX509Certificate();
    if (certificate) return spkiSha256Hex(certificate);
  }
  if (!isTrusted(peerIp(request), trusted)) return undefined;
  const header = request.headers['x-client-cert'];
  if (typeof header !== 'string' || header.length === 0) return undefined;
  try {
    return spkiSha256Hex(new X509Certificate(decodeURIComponent(header)));
  } catch {
    return undefined;
  }
}
