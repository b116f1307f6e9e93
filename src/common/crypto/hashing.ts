/**
 * SHA-256 and constant-time comparison: the hashing every layer needs (tokens and nonces are
 * stored only as hashes), kept below the features so none of them touches node:crypto.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array | string): string {
  return sha256(data).toString('hex');
}

/** Constant-time equality of two byte strings (false for different lengths). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
