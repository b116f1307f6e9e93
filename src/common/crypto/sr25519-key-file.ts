/**
 * sr25519 key files, shared by the CLI's hotkey (src/cli/wallet.ts) and the broker's validator key
 * (VALIDATOR_KEY_FILE): a hex seed (32 bytes, optionally 0x-prefixed), or a Bittensor hotkey JSON
 * file (`secretSeed`, `ss58Address`) whose address must be the key its seed derives.
 *
 * The seed is a secret: no message here ever contains it or any part of it, it is never returned
 * past the signer, and its bytes are zeroed once the key pair exists.
 */

import * as fs from 'node:fs';

/** Bittensor's ss58 prefix (the generic Substrate one). */
export const SS58_FORMAT = 42;

/** A key file problem; the message names the file (never its content) and what is wrong. */
export class KeyFileError extends Error {}

/** A key that can sign: its ss58 address, and nothing that reveals the seed. */
export interface Sr25519Signer {
  readonly address: string;
  sign(message: string): Uint8Array;
}

/** A seed as read, with the address the file claims for it (checked once the pair exists). */
export interface SeedWithClaim {
  seed: Uint8Array;
  claimedAddress?: string;
  /** The file the claim comes from, for the mismatch message. */
  file?: string;
}

const SEED_HEX = /^(?:0x)?([0-9a-fA-F]{64})$/;

/** A 32-byte seed from hex text (optional 0x, surrounding whitespace ignored). `where` names its origin. */
export function parseSeedHex(text: string, where: string): Uint8Array {
  const match = SEED_HEX.exec(text.trim());
  if (!match) throw new KeyFileError(`${where} does not hold a hotkey seed: expected 32 bytes as 64 hex characters (optionally 0x-prefixed)`);
  return Uint8Array.from(Buffer.from(match[1], 'hex'));
}

/** The seed and claimed address of a Bittensor hotkey JSON file's text (unencrypted keyfiles only). */
export function parseWalletKeyfile(text: string, file: string): SeedWithClaim {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // Encrypted Bittensor keyfiles start with `$NACL` (or are legacy ansible-vault text).
    const hint = text.startsWith('$NACL') || text.startsWith('$ANSIBLE_VAULT') ? ' (it looks encrypted; bootkey reads only unencrypted hotkey files)' : '';
    throw new KeyFileError(`hotkey file ${file} is not a JSON Bittensor keyfile${hint}`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new KeyFileError(`hotkey file ${file} is not a JSON Bittensor keyfile (expected an object with secretSeed and ss58Address)`);
  }
  const { secretSeed, ss58Address } = document as { secretSeed?: unknown; ss58Address?: unknown };
  if (typeof secretSeed !== 'string') {
    throw new KeyFileError(`hotkey file ${file} has no secretSeed (a public-only keyfile cannot sign; use the wallet's full hotkey file)`);
  }
  if (ss58Address !== undefined && typeof ss58Address !== 'string') throw new KeyFileError(`hotkey file ${file} has an ss58Address that is not a string`);
  return { seed: parseSeedHex(secretSeed, `the secretSeed in hotkey file ${file}`), claimedAddress: ss58Address, file };
}

/**
 * Either form, told apart by the first character: a JSON (or encrypted) Bittensor keyfile starts
 * with `{`, `[` or `$`; anything else must be a hex seed.
 */
export function parseKeyFileContent(text: string, file: string, what = 'key file'): SeedWithClaim {
  const start = text.trimStart()[0];
  if (start === '{' || start === '[' || start === '$') return parseWalletKeyfile(text, file);
  try {
    return { seed: parseSeedHex(text, `${what} ${file}`) };
  } catch (error) {
    if (error instanceof KeyFileError) throw new KeyFileError(`${error.message}, or a Bittensor hotkey JSON file`);
    throw error;
  }
}

/** Compares by public key, so an address written with another ss58 prefix still counts as the same key. */
function samePublicKey(address: string, publicKey: Uint8Array, decodeAddress: (address: string) => Uint8Array): boolean {
  try {
    return Buffer.from(decodeAddress(address)).equals(Buffer.from(publicKey));
  } catch {
    return false;
  }
}

/**
 * The signer of a seed (zeroed here). Throws KeyFileError when the file claimed another address
 * than the one the seed derives: signing with a key other than the one the file names is refused.
 */
export async function signerFromSeed({ seed, claimedAddress, file }: SeedWithClaim): Promise<Sr25519Signer> {
  // Loaded here, not at the top: CLI commands that never sign should not pay for the sr25519 WASM.
  const [{ Keyring }, { cryptoWaitReady, decodeAddress }] = await Promise.all([import('@polkadot/keyring'), import('@polkadot/util-crypto')]);
  await cryptoWaitReady();
  const pair = new Keyring({ type: 'sr25519', ss58Format: SS58_FORMAT }).addFromSeed(seed);
  seed.fill(0);
  if (claimedAddress !== undefined && !samePublicKey(claimedAddress, pair.publicKey, decodeAddress)) {
    throw new KeyFileError(
      `hotkey file ${file} names ss58Address ${claimedAddress}, but its secretSeed derives ${pair.address}; refusing to sign with a key that is not the one the file names`,
    );
  }
  return { address: pair.address, sign: (message: string) => pair.sign(message) };
}

/**
 * Reads a key file of either form (`variable` names where it was configured, e.g.
 * VALIDATOR_KEY_FILE) and returns its signer; every problem is a KeyFileError starting with
 * `variable` and naming the file, never its content.
 */
export async function loadKeyFile(file: string, variable: string): Promise<Sr25519Signer> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new KeyFileError(`${variable} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}: ${file})`);
  }
  try {
    return await signerFromSeed(parseKeyFileContent(text, file, variable));
  } catch (error) {
    if (error instanceof KeyFileError && !error.message.startsWith(variable)) throw new KeyFileError(`${variable} ${error.message}`);
    throw error;
  }
}
