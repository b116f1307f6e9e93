/**
 * The hotkey-signed request contract (DESIGN.md "Hotkey-signed"), as pure functions: reading
 * the headers strictly, building the signed messages of both formats, the keys of a v1
 * signature's uses, and the timestamp window. No Nest, no I/O, no clock of its own: time is an
 * argument.
 *
 * - v1, the Chutes message: `${hotkey}:${nonce}:${sha256hex(body)}`, or `${hotkey}:${nonce}:${purpose}`
 *   for an empty body (`miner` under /miner, `tee` elsewhere). It names no method or path, which
 *   is why its uses are scoped by the replay cache instead.
 * - v2, bootkey's message (`X-Bootkey-Signature-Version: 2`):
 *   `bootkey-v2:${hotkey}:${nonce}:${METHOD}:${pathWithQuery}:${audience}:${sha256hex(body)}`.
 */
import { DomainError, ErrorCode } from '../common/errors';
import { isSs58Address } from '../common/validation/ss58';
import { sha256Hex } from '../common/crypto/hashing';

export const HOTKEY_HEADER = 'x-chutes-hotkey';
export const SIGNATURE_HEADER = 'x-chutes-signature';
export const NONCE_HEADER = 'x-chutes-nonce';
export const VERSION_HEADER = 'x-bootkey-signature-version';

/** The purpose word that stands in for the body hash of an empty body on /servers routes (Chutes reference). */
export const EMPTY_BODY_PURPOSE = 'tee';
/** The purpose word of an empty body on /miner routes (Chutes reference: chutes-miner's inventory calls). */
export const MINER_PURPOSE = 'miner';
/** The audience of a v2 message when SIGNATURE_AUDIENCE is not configured. */
export const NO_AUDIENCE = '-';

/** 1: the Chutes message; 2: bootkey's, bound to method, path and audience. */
export type SignatureVersion = 1 | 2;

/** sr25519 signatures are 64 bytes: 128 hex characters, optionally after `0x`. */
export const SIGNATURE_HEX = /^(?:0x)?([0-9a-fA-F]{128})$/;
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
  /** The message format: 2 with `X-Bootkey-Signature-Version: 2`, else 1. */
  version: SignatureVersion;
}

export type HeaderBag = Record<string, string | string[] | undefined>;

export function single(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  // A repeated header is ambiguous about what was signed; refuse it rather than pick one.
  if (Array.isArray(value)) throw new DomainError(ErrorCode.SIGNATURE_INVALID, `${name} must be sent once`);
  return value;
}

/**
 * Reads X-Chutes-Hotkey, X-Chutes-Signature, X-Chutes-Nonce and X-Bootkey-Signature-Version
 * from Node's lower-cased header map. Throws SIGNATURE_MISSING when any of the first three is
 * absent or empty, SIGNATURE_INVALID naming the header when one is malformed.
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
  const versionValue = single(headers, VERSION_HEADER);
  // Only the two known values: an unknown version must not fall back to the weaker v1.
  if (versionValue !== undefined && versionValue !== '1' && versionValue !== '2') {
    throw new DomainError(ErrorCode.SIGNATURE_INVALID, `${VERSION_HEADER} must be 1 or 2`);
  }
  const version: SignatureVersion = versionValue === '2' ? 2 : 1;
  return { hotkey, signature: Uint8Array.from(Buffer.from(signatureMatch[1], 'hex')), nonce, nonceSeconds: Number(nonce), version };
}

/**
 * The v1 (Chutes) message: `${hotkey}:${nonce}:${sha256hex(rawBody)}` for a non-empty body,
 * else `${hotkey}:${nonce}:${purpose}`. Both strings are used exactly as sent.
 */
export function signedMessage(hotkey: string, nonce: string, rawBody?: Uint8Array | null, purpose: string = EMPTY_BODY_PURPOSE): string {
  const tail = rawBody && rawBody.length > 0 ? sha256Hex(rawBody) : purpose;
  return `${hotkey}:${nonce}:${tail}`;
}

/** The parts of a v2 message besides the signer's. */
export interface V2MessageParts {
  hotkey: string;
  nonce: string;
  /** The HTTP method, upper case. */
  method: string;
  /** The request target as sent: path and query, percent-encoding untouched. */
  pathWithQuery: string;
  /** The broker's public origin (`https://keys.example.com`), or `-`. */
  audience: string;
  rawBody?: Uint8Array | null;
}

/**
 * The v2 message: `bootkey-v2:${hotkey}:${nonce}:${METHOD}:${pathWithQuery}:${audience}:${sha256hex(rawBody)}`,
 * the body hash being that of zero bytes when there is none. It names the request, so a
 * signature fits one method, one target and one broker.
 */
export function signedMessageV2(parts: V2MessageParts): string {
  const bodyHash = sha256Hex(parts.rawBody ?? new Uint8Array(0));
  return `bootkey-v2:${parts.hotkey}:${parts.nonce}:${parts.method.toUpperCase()}:${parts.pathWithQuery}:${parts.audience}:${bodyHash}`;
}

/** The path part of a request target, without its query. */
function pathOf(pathWithQuery: string): string {
  const query = pathWithQuery.indexOf('?');
  return query === -1 ? pathWithQuery : pathWithQuery.slice(0, query);
}

/**
 * A path as routing sees it: percent-escapes decoded (when they decode) and trailing slashes
 * dropped (the router ignores them), so spellings of one route are one path.
 */
export function canonicalPath(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Malformed escapes: the router would not decode them either; keep the bytes as sent.
  }
  const trimmed = decoded.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/** The empty-body purpose of a v1 message on `path`: `miner` under /miner, else `tee`. */
export function v1Purpose(pathWithQuery: string): string {
  const path = canonicalPath(pathOf(pathWithQuery));
  return path === '/miner' || path.startsWith('/miner/') ? MINER_PURPOSE : EMPTY_BODY_PURPOSE;
}

/** POST /servers/{id}/attestation: real clients sign this body-carrying request with `:tee`. */
const RUNTIME_ATTESTATION_PATH = /^\/servers\/[^/]+\/attestation$/;

/**
 * Every v1 message a request may carry: the body hash (or purpose) form, and on
 * `POST /servers/{id}/attestation` the `:tee` form as well.
 */
export function v1Messages(hotkey: string, nonce: string, method: string, pathWithQuery: string, rawBody?: Uint8Array | null): string[] {
  const messages = [signedMessage(hotkey, nonce, rawBody, v1Purpose(pathWithQuery))];
  const hasBody = !!rawBody && rawBody.length > 0;
  if (hasBody && method.toUpperCase() === 'POST' && RUNTIME_ATTESTATION_PATH.test(canonicalPath(pathOf(pathWithQuery)))) {
    messages.push(signedMessage(hotkey, nonce, null, EMPTY_BODY_PURPOSE));
  }
  return messages;
}

/**
 * What one use of a v1 signature is: the method and the canonical path with the query as sent.
 * A v1 signature is used at most once per target.
 */
export function useTarget(method: string, pathWithQuery: string): string {
  const query = pathWithQuery.indexOf('?');
  const search = query === -1 ? '' : pathWithQuery.slice(query + 1);
  return `${method.toUpperCase()} ${canonicalPath(pathOf(pathWithQuery))}${search ? `?${search}` : ''}`;
}

/** Whether a signature timestamp is within ±`windowSeconds` of `now` (inclusive). */
export function isWithinWindow(nonceSeconds: number, now: Date, windowSeconds: number): boolean {
  return Math.abs(now.getTime() / 1000 - nonceSeconds) <= windowSeconds;
}

/** When a signature with this timestamp can no longer be accepted, so its replay row may go. */
export function replayExpiry(nonceSeconds: number, windowSeconds: number): Date {
  return new Date((nonceSeconds + windowSeconds) * 1000);
}
