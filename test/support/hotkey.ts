/**
 * Test hotkeys and signed request headers, written from the contract (DESIGN.md "Hotkey-signed")
 * rather than from the service's code, so a drift on either side shows up as a failing test.
 *
 *   const alice = await testKeypair('//Alice');
 *   const body = JSON.stringify({ host: 'h' });
 *   httpRequest(url, { rawBody: body, headers: signedHeaders(alice, body, unixSeconds(clock.now())) });
 */
import { createHash } from 'node:crypto';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';

export type { KeyringPair };

export interface SignOptions {
  /** Prefix the signature hex with `0x` (both forms are accepted). Default false. */
  with0x?: boolean;
  /** Send this string as X-Chutes-Hotkey instead of the pair's address (the signature still uses the pair's). */
  hotkeyHeader?: string;
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

/** The message a client signs: `${hotkey}:${nonce}:${sha256hex(body)}`, or `${hotkey}:${nonce}:tee` for an empty body. */
export function signingMessage(hotkey: string, nonceSeconds: number | string, body?: Uint8Array | string | null): string {
  const bytes = bodyBytes(body);
  const tail = bytes.length > 0 ? createHash('sha256').update(bytes).digest('hex') : 'tee';
  return `${hotkey}:${nonceSeconds}:${tail}`;
}

/** The sr25519 signature of `message` as lowercase hex (no `0x`). Randomised: each call differs. */
export function signHex(pair: KeyringPair, message: string): string {
  return Buffer.from(pair.sign(message)).toString('hex');
}

/**
 * X-Chutes-Hotkey / -Signature / -Nonce for a request whose body is exactly `body` (the bytes
 * sent; undefined or empty for none). Send the body as these same bytes (`rawBody`), not re-serialised.
 */
export function signedHeaders(
  pair: KeyringPair,
  body: Uint8Array | string | undefined | null,
  nonceSeconds: number,
  options: SignOptions = {},
): Record<string, string> {
  const signature = signHex(pair, signingMessage(pair.address, nonceSeconds, body));
  return {
    'X-Chutes-Hotkey': options.hotkeyHeader ?? pair.address,
    'X-Chutes-Signature': options.with0x ? `0x${signature}` : signature,
    'X-Chutes-Nonce': String(nonceSeconds),
  };
}
