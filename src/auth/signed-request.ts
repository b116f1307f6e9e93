/**
 * The hotkey-signed request contract (DESIGN.md "Hotkey-signed"), as pure functions: reading
 * the three headers strictly, building the signed message, and the timestamp window. No Nest,
 * no I/O, no clock of its own: time is an argument.
 */
import { DomainError, ErrorCode } from '../common/errors';
import { isSs58Address } from '../common/validation/ss58';
import { sha256Hex } from '../common/crypto/hashing';

export const HOTKEY_HEADER = 'x-chutes-hotkey';
export const SIGNATURE_HEADER = 'x-chutes-signature';
export const NONCE_HEADER = 'x-chutes-nonce';

/** The purpose word that stands in for the body hash when the body is empty (Chutes reference). */
export const EMPTY_BODY_PURPOSE = 'tee';

/** sr25519 signatures are 64 bytes: 128 hex characters, optionally after `0x`. */
const SIGNATURE_HEX = /^(?:0x)?([0-9a-fA-F]{128})$/;
/** Unix seconds as plain decimal digits (no sign, no fraction, no exponent); 12 digits is past year 33000. */
const NONCE_DECIMAL = /^[0-9]{1,12}$/;

export interface SignatureHeaders {
  /** The ss58 address exactly as sent: the message is built from it. */
  hotkey: string;
  /** The 64 signature bytes. */
  signature: Uint8Array;
  /** The timestamp exactly as sent: the message is built from it. */
  nonce: string;
  /** The timestamp as a number of unix seconds. */
  nonceSeconds: number;
}

type HeaderBag = Record<string, string | string[] | undefined>;

function single(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  // A repeated header is ambiguous about what was signed; refuse it rather than pick one.
  if (Array.isArray(value)) throw new DomainError(ErrorCode.SIGNATURE_INVALID, `${name} must be sent once`);
  return value;
}

/**
 * Reads X-Chutes-Hotkey, X-Chutes-Signature and X-Chutes-Nonce from Node's lower-cased header
 * map. Throws SIGNATURE_MISSING when any is absent or empty, SIGNATURE_INVALID naming the
 * header when one is malformed.
 */
export function parseSignatureHeaders(headers: HeaderBag): SignatureHeaders {
  const hotkey = single(headers, HOTKEY_HEADER);
  const signatureHex = single(headers, SIGNATURE_HEADER);
  const nonce = single(headers, NONCE_HEADER);
  const missing = [
    [HOTKEY_HEADER, hotkey],
    [SIGNATURE_HEADER, signatureHex],
    [NONCE_HEADER, nonce],
  ]
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length > 0 || !hotkey || !signatureHex || !nonce) {
    throw new DomainError(ErrorCode.SIGNATURE_MISSING, `missing header(s): ${missing.join(', ')}`);
  }
  if (!isSs58Address(hotkey)) throw new DomainError(ErrorCode.SIGNATURE_INVALID, `${HOTKEY_HEADER} is not an ss58 address`);
  const signatureMatch = SIGNATURE_HEX.exec(signatureHex);
  if (!signatureMatch) throw new DomainError(ErrorCode.SIGNATURE_INVALID, `${SIGNATURE_HEADER} must be 64 bytes of hex`);
  if (!NONCE_DECIMAL.test(nonce)) throw new DomainError(ErrorCode.SIGNATURE_INVALID, `${NONCE_HEADER} must be unix seconds`);
  return { hotkey, signature: Uint8Array.from(Buffer.from(signatureMatch[1], 'hex')), nonce, nonceSeconds: Number(nonce) };
}

/**
 * The message the hotkey signs: `${hotkey}:${nonce}:${sha256hex(rawBody)}` for a non-empty
 * body, else `${hotkey}:${nonce}:tee`. Both strings are used exactly as sent.
 */
export function signedMessage(hotkey: string, nonce: string, rawBody?: Uint8Array | null): string {
  const tail = rawBody && rawBody.length > 0 ? sha256Hex(rawBody) : EMPTY_BODY_PURPOSE;
  return `${hotkey}:${nonce}:${tail}`;
}

/** Whether a signature timestamp is within ±`windowSeconds` of `now` (inclusive). */
export function isWithinWindow(nonceSeconds: number, now: Date, windowSeconds: number): boolean {
  return Math.abs(now.getTime() / 1000 - nonceSeconds) <= windowSeconds;
}

/** When a signature with this timestamp can no longer be accepted, so its replay row may go. */
export function replayExpiry(nonceSeconds: number, windowSeconds: number): Date {
  return new Date((nonceSeconds + windowSeconds) * 1000);
}
