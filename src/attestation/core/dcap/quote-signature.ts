/** verifyQuoteSignature: the attestation key signed header + body (raw r||s, ECDSA-P256/SHA-256). */
import { KeyObject, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { DomainError, ErrorCode } from '../../../common/errors';
import type { TdxQuote } from '../quote/quote.types';

/** DER SubjectPublicKeyInfo prefix for an uncompressed P-256 point (id-ecPublicKey, prime256v1). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const UNCOMPRESSED_POINT = 0x04;

export function attestationKeyObject(attestationKey: Uint8Array): KeyObject {
  const spki = Buffer.allocUnsafe(P256_SPKI_PREFIX.length + 1 + attestationKey.length);
  P256_SPKI_PREFIX.copy(spki, 0);
  spki[P256_SPKI_PREFIX.length] = UNCOMPRESSED_POINT;
  spki.set(attestationKey, P256_SPKI_PREFIX.length + 1);
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    // OpenSSL refuses points that are not on the curve.
    throw new DomainError(ErrorCode.QUOTE_SIGNATURE_INVALID, 'attestation key is not a valid P-256 point', {
      step: 'quote_signature',
    });
  }
}

/** `key` may be passed in when the caller already holds the KeyObject of this attestation key. */
export function verifyQuoteSignature(quote: TdxQuote, key: KeyObject = attestationKeyObject(quote.signature.attestationKey)): void {
  const ok = cryptoVerify('sha256', quote.signedBytes, { key, dsaEncoding: 'ieee-p1363' }, quote.signature.ecdsaSignature);
  if (!ok) {
    throw new DomainError(ErrorCode.QUOTE_SIGNATURE_INVALID, 'quote signature does not verify with the attestation key', {
      step: 'quote_signature',
    });
  }
}
