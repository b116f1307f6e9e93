/** ss58 hotkey addresses (Bittensor/Substrate): checked by checksum, never by shape alone. */
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { registerDecorator, ValidationOptions } from 'class-validator';

export function isSs58Address(value: unknown): value is string {
  if (typeof value !== 'string' || value.length < 40 || value.length > 60) return false;
  try {
    return decodeAddress(value).length === 32;
  } catch {
    return false;
  }
}

/** The 32-byte public key of an ss58 address, re-encoded canonically (prefix 42). */
export function canonicalSs58(value: string): string {
  return encodeAddress(decodeAddress(value), 42);
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
