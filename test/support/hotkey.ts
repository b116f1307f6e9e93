/**
 * Test hotkeys and signed request headers, written from the contract (DESIGN.md "Hotkey-signed")
 * rather than from the service's code, so a drift on either side shows up as a failing test.
 * Two message formats: v1, the Chutes message real miner tools sign (the default here), and
 * v2, bootkey's, which names method, path and audience (`{ v2: { method, path } }`).
 *
 *   const alice = await testKeypair('//Alice');
 *   const body = JSON.stringify({ host: 'h' });
 *   httpRequest(url, { rawBody: body, headers: signedHeaders(alice, body, unixSeconds(clock.now())) });
 *   httpRequest(url, { headers: signedHeaders(alice, undefined, nonce, { v2: { method: 'GET', path: '/admin/keys/status' } }) });
 */
import { createHash } from 'node:crypto';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';

export type { KeyringPair };

/** What a v2 signature names besides signer, time and body. */
export interface V2Target {
  method: string;
  /** Path and query exactly as sent. */
  path: string;
  /** The broker's SIGNATURE_AUDIENCE; default `-` (a broker without one also accepts its own origin). */
  audience?: string;
}

export interface SignOptions {
  /** Prefix the signature hex with `0x` (both forms are accepted). Default false. */
  with0x?: boolean;
  /** Send this string as X-Chutes-Hotkey instead of the pair's address (the signature still uses the pair's). */
  hotkeyHeader?: string;
  /** v1 only: the word signed for an empty body (`tee` on /servers, `miner` on /miner). Default `tee`. */
  purpose?: string;
  /** Sign bootkey's v2 message for this request (and send X-Bootkey-Signature-Version: 2). */
  v2?: V2Target;
}

/** An sr25519 keypair from a secret URI (`//Alice`, `//Bob`, a mnemonic, `mnemonic//derivation`). Bittensor ss58 prefix 42. */
export async function testKeypair(uri = '//Alice'): Promise<KeyringPair> {
  await cryptoWaitReady();
  return new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(uri);
}

/** A fresh random sr25519 keypair. */
export async function randomKeypair(): Promise<KeyringPair> {
  await cryptoWaitReady();
  return testKeypair(mnemonicGenerate());
}

/** Unix seconds of a date, the X-Chutes-Nonce value. */
export function unixSeconds(date: Date = new Date()): number {
  return Math.floor(date.getTime() / 1000);
}

function bodyBytes(body: Uint8Array | string | undefined | null): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The v1 (Chutes) message: `${hotkey}:${nonce}:${sha256hex(body)}`, or `${hotkey}:${nonce}:${purpose}` for an empty body. */
export function signingMessage(hotkey: string, nonceSeconds: number | string, body?: Uint8Array | string | null, purpose = 'tee'): string {
  const bytes = bodyBytes(body);
  return `${hotkey}:${nonceSeconds}:${bytes.length > 0 ? sha256Hex(bytes) : purpose}`;
}

/** The v2 message: `bootkey-v2:${hotkey}:${nonce}:${METHOD}:${path}:${audience}:${sha256hex(body)}`. */
export function signingMessageV2(hotkey: string, nonceSeconds: number | string, target: V2Target, body?: Uint8Array | string | null): string {
  return `bootkey-v2:${hotkey}:${nonceSeconds}:${target.method.toUpperCase()}:${target.path}:${target.audience ?? '-'}:${sha256Hex(bodyBytes(body))}`;
}

/** The sr25519 signature of `message` as lowercase hex (no `0x`). Randomised: each call differs. */
export function signHex(pair: KeyringPair, message: string): string {
  return Buffer.from(pair.sign(message)).toString('hex');
}

/**
 * X-Chutes-Hotkey / -Signature / -Nonce (and X-Bootkey-Signature-Version for v2) for a request
 * whose body is exactly `body` (the bytes sent; undefined or empty for none). Send the body as
 * these same bytes (`rawBody`), not re-serialised.
 */
export function signedHeaders(
  pair: KeyringPair,
  body: Uint8Array | string | undefined | null,
  nonceSeconds: number,
  options: SignOptions = {},
): Record<string, string> {
  const message = options.v2
    ? signingMessageV2(pair.address, nonceSeconds, options.v2, body)
    : signingMessage(pair.address, nonceSeconds, body, options.purpose);
  const signature = signHex(pair, message);
  return {
    'X-Chutes-Hotkey': options.hotkeyHeader ?? pair.address,
    'X-Chutes-Signature': options.with0x ? `0x${signature}` : signature,
    'X-Chutes-Nonce': String(nonceSeconds),
    ...(options.v2 ? { 'X-Bootkey-Signature-Version': '2' } : {}),
  };
}
