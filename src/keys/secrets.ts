/**
 * The small primitives for random values and their hashes. Services use these rather than
 * node:crypto so secret handling stays in one place.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `bytes` random bytes as lowercase hex. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * A fresh passphrase for a LUKS volume or root disk: `bytes` random bytes (default 64, as
 * 128 hex characters). Hex, so it survives shells, JSON and `cryptsetup --key-file=-` intact.
 */
export function randomPassphraseHex(bytes = 64): string {
  return randomHex(bytes);
}

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

const HEX64 = /^[0-9a-f]{64}$/;

/** True for 64 lowercase hex characters: the shape of our nonces and boot tokens. */
export function isHex32(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}
