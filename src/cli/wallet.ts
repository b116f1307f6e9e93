/**
 * Where the CLI's hotkey comes from, in this order: `--seed-file` (hex seed), the
 * BOOTKEY_HOTKEY_SEED environment variable (hex seed), or a Bittensor wallet hotkey file
 * `<wallet-path>/<wallet>/hotkeys/<hotkey>` (JSON with `secretSeed` and `ss58Address`;
 * wallet-path is `--wallet-path`, else BT_WALLET_PATH, else ~/.bittensor/wallets).
 *
 * The seed is a secret: no message here ever contains it or any part of it, and it is never
 * returned — only a signer that can sign with it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from './errors';

/** Bittensor's ss58 prefix (the generic Substrate one). */
export const SS58_FORMAT = 42;

export interface HotkeyOptions {
  seedFile?: string;
  wallet?: string;
  hotkey?: string;
  walletPath?: string;
}

/** What the HTTP client needs: an address and a way to sign. */
export interface Signer {
  /** The ss58 address (sent as X-Chutes-Hotkey). */
  readonly address: string;
  /** Where the key came from, for messages (`wallet default/default`, `--seed-file`, ...). Never the seed. */
  readonly source: string;
  sign(message: string): Uint8Array;
}

const SEED_HEX = /^(?:0x)?([0-9a-fA-F]{64})$/;

/** A 32-byte seed from hex text (optional 0x, surrounding whitespace ignored). `where` names its origin. */
export function parseSeedHex(text: string, where: string): Uint8Array {
  const match = SEED_HEX.exec(text.trim());
  if (!match) throw new UsageError(`${where} does not hold a hotkey seed: expected 32 bytes as 64 hex characters (optionally 0x-prefixed)`);
  return Uint8Array.from(Buffer.from(match[1], 'hex'));
}

/** The wallet directory: `--wallet-path`, else BT_WALLET_PATH, else ~/.bittensor/wallets. */
export function walletRoot(options: HotkeyOptions, env: NodeJS.ProcessEnv): string {
  const root = options.walletPath ?? env.BT_WALLET_PATH ?? path.join(env.HOME ?? os.homedir(), '.bittensor', 'wallets');
  return root.startsWith('~/') ? path.join(env.HOME ?? os.homedir(), root.slice(2)) : root;
}

export function hotkeyFilePath(options: HotkeyOptions, env: NodeJS.ProcessEnv): string {
  return path.join(walletRoot(options, env), options.wallet ?? 'default', 'hotkeys', options.hotkey ?? 'default');
}

function readFileOrFail(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UsageError(
        `${what} ${file} does not exist; choose a hotkey with --wallet/--hotkey (or --wallet-path), --seed-file, or BOOTKEY_HOTKEY_SEED`,
      );
    }
    if (code === 'EACCES') throw new UsageError(`${what} ${file} cannot be read (permission denied)`);
    if (code === 'EISDIR') throw new UsageError(`${what} ${file} is a directory, not a file`);
    throw new UsageError(`${what} ${file} cannot be read (${code ?? 'error'})`);
  }
}

interface SeedWithClaim {
  seed: Uint8Array;
  source: string;
  /** The ss58 address the wallet file says the key has, checked against the derived one. */
  claimedAddress?: string;
  file?: string;
}

function readWalletHotkey(file: string, source: string): SeedWithClaim {
  const text = readFileOrFail(file, 'hotkey file');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // Encrypted Bittensor keyfiles start with `$NACL` (or are legacy ansible-vault text).
    const hint = text.startsWith('$NACL') || text.startsWith('$ANSIBLE_VAULT') ? ' (it looks encrypted; bootkey reads only unencrypted hotkey files)' : '';
    throw new UsageError(`hotkey file ${file} is not a JSON Bittensor keyfile${hint}`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new UsageError(`hotkey file ${file} is not a JSON Bittensor keyfile (expected an object with secretSeed and ss58Address)`);
  }
  const { secretSeed, ss58Address } = document as { secretSeed?: unknown; ss58Address?: unknown };
  if (typeof secretSeed !== 'string') {
    throw new UsageError(`hotkey file ${file} has no secretSeed (a public-only keyfile cannot sign; use the wallet's full hotkey file)`);
  }
  if (ss58Address !== undefined && typeof ss58Address !== 'string') throw new UsageError(`hotkey file ${file} has an ss58Address that is not a string`);
  return { seed: parseSeedHex(secretSeed, `the secretSeed in hotkey file ${file}`), source, claimedAddress: ss58Address, file };
}

/** Picks the seed source (see the module comment) and reads the seed. */
function readSeed(options: HotkeyOptions, env: NodeJS.ProcessEnv): SeedWithClaim {
  if (options.seedFile !== undefined) {
    const text = readFileOrFail(options.seedFile, 'seed file');
    return { seed: parseSeedHex(text, `seed file ${options.seedFile}`), source: `seed file ${options.seedFile}` };
  }
  const fromEnv = env.BOOTKEY_HOTKEY_SEED;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return { seed: parseSeedHex(fromEnv, 'BOOTKEY_HOTKEY_SEED'), source: 'BOOTKEY_HOTKEY_SEED' };
  }
  const file = hotkeyFilePath(options, env);
  return readWalletHotkey(file, `wallet ${options.wallet ?? 'default'} hotkey ${options.hotkey ?? 'default'}`);
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
 * Loads the hotkey and returns a signer. Throws UsageError (exit 2) for a missing or unreadable
 * file, a malformed seed, or a wallet file whose ss58Address is not the address its seed derives.
 */
export async function loadSigner(options: HotkeyOptions, env: NodeJS.ProcessEnv): Promise<Signer> {
  const { seed, source, claimedAddress, file } = readSeed(options, env);
  // Loaded here, not at the top: commands that never sign should not pay for the sr25519 WASM.
  const [{ Keyring }, { cryptoWaitReady, decodeAddress }] = await Promise.all([import('@polkadot/keyring'), import('@polkadot/util-crypto')]);
  await cryptoWaitReady();
  const pair = new Keyring({ type: 'sr25519', ss58Format: SS58_FORMAT }).addFromSeed(seed);
  seed.fill(0);
  if (claimedAddress !== undefined && !samePublicKey(claimedAddress, pair.publicKey, decodeAddress)) {
    throw new UsageError(
      `hotkey file ${file} names ss58Address ${claimedAddress}, but its secretSeed derives ${pair.address}; refusing to sign with a key that is not the one the file names`,
    );
  }
  return { address: pair.address, source, sign: (message: string) => pair.sign(message) };
}
