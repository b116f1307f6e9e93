/** ss58 hotkey addresses (Bittensor/Substrate): checked by checksum, never by shape alone. */
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { registerDecorator, ValidationOptions } from 'class-validator';

/**
 * Canonical form (prefix 42) of addresses seen lately, null for those that are not 32-byte ss58.
 * Decoding checks a blake2b checksum and a boot names its hotkey 6–8 times across its requests,
 * so this was a measurable share of a boot's CPU; the answer is a pure function of the string.
 * Bounded: past the limit the oldest entry goes.
 */
const canonicalForms = new Map<string, string | null>();
const CANONICAL_FORMS_MAX = 10_000;

function canonicalOrNull(value: string): string | null {
  const known = canonicalForms.get(value);
  if (known !== undefined) return known;
  let canonical: string | null;
  try {
    const publicKey = decodeAddress(value);
    canonical = publicKey.length === 32 ? encodeAddress(publicKey, 42) : null;
  } catch {
    canonical = null;
  }
  if (canonicalForms.size >= CANONICAL_FORMS_MAX) canonicalForms.delete(canonicalForms.keys().next().value as string);
  canonicalForms.set(value, canonical);
  return canonical;
}

export function isSs58Address(value: unknown): value is string {
  if (typeof value !== 'string' || value.length < 40 || value.length > 60) return false;
  return canonicalOrNull(value) !== null;
}

/** The 32-byte public key of an ss58 address, re-encoded canonically (prefix 42). */
export function canonicalSs58(value: string): string {
  if (value.length < 40 || value.length > 60) return encodeAddress(decodeAddress(value), 42);
  const canonical = canonicalOrNull(value);
  // Not a 32-byte address: decode again for the same error (or answer) as before the cache.
  return canonical ?? encodeAddress(decodeAddress(value), 42);
}

export function IsSs58(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isSs58',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `${String(propertyName)} must be an ss58 address`, ...options },
      validator: { validate: (value: unknown) => isSs58Address(value) },
    });
}
