/** Random values (nonces, tokens, passphrases) and the shape check for the 32-byte ones. */
import { randomBytes } from 'node:crypto';

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

const HEX64 = /^[0-9a-f]{64}$/;

/** True for 64 lowercase hex characters: the shape of our nonces and boot tokens. */
export function isHex32(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}
