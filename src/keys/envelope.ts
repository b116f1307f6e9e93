/**
 * Envelope encryption of secrets at rest (pure: no Nest, no I/O). Owns the byte layouts of a
 * sealed secret and the KEK ring type; nothing else in the service calls @noble/ciphers.
 *
 * Every secret gets its own random 32-byte data key. Both layers are XChaCha20-Poly1305 with a
 * random 24-byte nonce prepended to what it protects:
 *
 *   ciphertext  = nonce(24) || XChaCha20-Poly1305(dataKey, nonce, AAD = utf8(aad))(plaintext) || tag(16)
 *                 → plaintext.length + 40 bytes
 *   wrappedKey  = nonce(24) || XChaCha20-Poly1305(kek, nonce, AAD = utf8("kek|" + kekId + "|" + aad))(dataKey) || tag(16)
 *                 → exactly 72 bytes
 *
 * `aad` names the row a secret belongs to (`volume|<hotkey>|<vm_name>|<volume>`,
 * `root|<measurement version>`), so bytes copied to another row do not open. The wrap AAD also
 * binds the KEK id: a wrapped key cannot be relabelled with another id. KEK ids cannot contain
 * `|`, so the wrap AAD is unambiguous. There is no version byte: a future layout would come with
 * its own column (and migration), not be guessed from the bytes.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ErrorCode, DomainError } from '../common/errors';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const WRAPPED_KEY_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES;
export const CIPHERTEXT_OVERHEAD_BYTES = NONCE_BYTES + TAG_BYTES;

/** KEK ids as accepted in BROKER_KEKS / BROKER_ACTIVE_KEK. */
export const KEK_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** A key-encryption key. `key` is 32 bytes; `id` is what sealed secrets record. */
export interface Kek {
  readonly id: string;
  readonly key: Uint8Array;
}

/** The KEKs that can open secrets, and the one new secrets are wrapped with. */
export interface KekRing {
  readonly active: Kek;
  readonly keks: ReadonlyMap<string, Kek>;
}

/** What is stored per secret (typically three columns: kek_id, wrapped_key, ciphertext). */
export interface SealedSecret {
  readonly kekId: string;
  readonly wrappedKey: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/**
 * Builds a ring from KEKs already validated by the caller (ids, lengths, no duplicates). Throws
 * a plain Error on misuse: configuration errors are reported by kek-ring.ts before this runs.
 */
export function createKekRing(keks: readonly Kek[], activeId: string): KekRing {
  const map = new Map<string, Kek>();
  for (const kek of keks) {
    if (!KEK_ID_PATTERN.test(kek.id)) throw new Error('invalid KEK id');
    if (kek.key.length !== KEY_BYTES) throw new Error(`KEK ${kek.id} is not ${KEY_BYTES} bytes`);
    if (map.has(kek.id)) throw new Error(`KEK ${kek.id} appears twice`);
    map.set(kek.id, kek);
  }
  const active = map.get(activeId);
  if (!active) throw new Error(`active KEK ${activeId} is not in the ring`);
  return { active, keks: map };
}

const utf8 = new TextEncoder();

function randomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

function checkAad(aad: string): void {
  // An empty AAD would bind a secret to nothing; callers always name a row.
  if (typeof aad !== 'string' || aad.length === 0) throw new Error('sealed secrets need a non-empty AAD');
}

function wrapAad(kekId: string, aad: string): Uint8Array {
  return utf8.encode(`kek|${kekId}|${aad}`);
}

/** nonce || AEAD(key, nonce, aad)(plaintext) */
function encrypt(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
  const out = new Uint8Array(NONCE_BYTES + sealed.length);
  out.set(nonce, 0);
  out.set(sealed, NONCE_BYTES);
  return out;
}

/** Inverse of `encrypt`; returns undefined when authentication fails. */
function decrypt(key: Uint8Array, bytes: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  try {
    return xchacha20poly1305(key, bytes.subarray(0, NONCE_BYTES), aad).decrypt(bytes.subarray(NONCE_BYTES));
  } catch {
    return undefined;
  }
}

type UnavailableReason = 'unknown_kek' | 'malformed' | 'wrapped_key_rejected' | 'ciphertext_rejected';

function unavailable(reason: UnavailableReason, kekId: string, aad: string): DomainError {
  // The AAD names a row (hotkey, vm, volume): useful in logs and not secret. No bytes go in.
  return new DomainError(ErrorCode.KEY_UNAVAILABLE, 'a stored secret could not be opened', { reason, kekId, aad });
}

/** Recovers the data key of `sealed`; the caller zeroes it. */
function unwrapDataKey(sealed: SealedSecret, aad: string, ring: KekRing): Uint8Array {
  checkAad(aad);
  const kek = ring.keks.get(sealed.kekId);
  if (!kek) throw unavailable('unknown_kek', sealed.kekId, aad);
  if (sealed.wrappedKey.length !== WRAPPED_KEY_BYTES || sealed.ciphertext.length < CIPHERTEXT_OVERHEAD_BYTES) {
    throw unavailable('malformed', sealed.kekId, aad);
  }
  const dataKey = decrypt(kek.key, sealed.wrappedKey, wrapAad(kek.id, aad));
  if (!dataKey || dataKey.length !== KEY_BYTES) throw unavailable('wrapped_key_rejected', sealed.kekId, aad);
  return dataKey;
}

/** Seals `plaintext` for the row named by `aad` under a fresh data key wrapped by `kek`. */
export function sealSecret(plaintext: Uint8Array, aad: string, kek: Kek): SealedSecret {
  checkAad(aad);
  const dataKey = randomBytes(KEY_BYTES);
  try {
    return {
      kekId: kek.id,
      wrappedKey: encrypt(kek.key, dataKey, wrapAad(kek.id, aad)),
      ciphertext: encrypt(dataKey, plaintext, utf8.encode(aad)),
    };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Opens a secret sealed for the row named by `aad`. Throws DomainError KEY_UNAVAILABLE when its
 * KEK is not in `ring`, a byte was changed, or the bytes belong to another row.
 */
export function openSecret(sealed: SealedSecret, aad: string, ring: KekRing): Uint8Array {
  const dataKey = unwrapDataKey(sealed, aad, ring);
  try {
    const plaintext = decrypt(dataKey, sealed.ciphertext, utf8.encode(aad));
    if (!plaintext) throw unavailable('ciphertext_rejected', sealed.kekId, aad);
    return plaintext;
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Wraps the data key of `sealed` again under `newKek`; the ciphertext is returned unchanged.
 * The ciphertext is authenticated first so a damaged secret is noticed now, not after the
 * old KEK has been retired.
 */
export function rewrapSecret(sealed: SealedSecret, aad: string, ring: KekRing, newKek: Kek): SealedSecret {
  const dataKey = unwrapDataKey(sealed, aad, ring);
  try {
    const plaintext = decrypt(dataKey, sealed.ciphertext, utf8.encode(aad));
    if (!plaintext) throw unavailable('ciphertext_rejected', sealed.kekId, aad);
    plaintext.fill(0);
    return { kekId: newKek.id, wrappedKey: encrypt(newKek.key, dataKey, wrapAad(newKek.id, aad)), ciphertext: sealed.ciphertext };
  } finally {
    dataKey.fill(0);
  }
}
