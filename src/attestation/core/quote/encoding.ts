/**
 * Byte encodings shared by the quote parser and the DCAP verifier: lowercase hex, strict hex
 * decoding, and PEM certificate chains (the quote's certification data type 5 and the collateral
 * issuer chains). Pure and linear in the input length.
 */

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX_PATTERN = /^(?:[0-9a-fA-F]{2})*$/;

/** Strict hex → bytes; `null` on odd length or a non-hex character (Buffer.from would truncate). */
export function fromHexStrict(hex: string): Uint8Array | null {
  if (!HEX_PATTERN.test(hex)) return null;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';
/**
 * Base64 in whole 4-character groups, line breaks only between groups (PEM lines are 64 or 76
 * characters, both multiples of 4), padding only in the last group.
 */
const PEM_BASE64_BODY = /^\s*(?:[A-Za-z0-9+/]{4}|\r?\n)*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\s*$/;

export class PemError extends Error {}

/**
 * Every CERTIFICATE block of a PEM text, decoded to DER, in order (leaf first for Intel chains).
 * Text between blocks is ignored (real chains end in "\n\0"); a block whose body is not clean
 * base64 throws PemError naming the block's position.
 */
export function splitPemCertificates(pem: string): Uint8Array[] {
  const certificates: Uint8Array[] = [];
  let cursor = 0;
  for (;;) {
    const begin = pem.indexOf(PEM_BEGIN, cursor);
    if (begin < 0) break;
    const bodyStart = begin + PEM_BEGIN.length;
    const end = pem.indexOf(PEM_END, bodyStart);
    if (end < 0) throw new PemError(`certificate ${certificates.length + 1} has no END line`);
    const body = pem.slice(bodyStart, end);
    if (!PEM_BASE64_BODY.test(body)) throw new PemError(`certificate ${certificates.length + 1} is not valid base64`);
    // Buffer's decoder skips the line breaks the pattern above allowed.
    const der = new Uint8Array(Buffer.from(body, 'base64'));
    if (der.length === 0) throw new PemError(`certificate ${certificates.length + 1} is empty`);
    certificates.push(der);
    cursor = end + PEM_END.length;
  }
  return certificates;
}

/** Latin-1 view of bytes: PEM is ASCII, and latin1 maps each byte to one char (no UTF-8 surprises). */
export function bytesToLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * bytes[index] where the caller's layout guarantees the index (fixed-size quote and collateral
 * fields): out of range is a bug in that guarantee, so a RangeError, never a silent undefined.
 */
export function byteAt(bytes: Uint8Array, index: number): number {
  const byte = bytes[index];
  if (byte === undefined) throw new RangeError(`byte ${index} of a ${bytes.length}-byte field`);
  return byte;
}
