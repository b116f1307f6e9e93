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
import * as keyFile from '../common/crypto/sr25519-key-file';
import { KeyFileError, SeedWithClaim } from '../common/crypto/sr25519-key-file';
import { UsageError } from './errors';

export { SS58_FORMAT } from '../common/crypto/sr25519-key-file';

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

/** Runs a key-file step, turning its KeyFileError into a UsageError (exit 2) with the same message. */
function asUsage<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof KeyFileError) throw new UsageError(error.message);
    throw error;
  }
}

/** A 32-byte seed from hex text (optional 0x, surrounding whitespace ignored). `where` names its origin. */
export function parseSeedHex(text: string, where: string): Uint8Array {
  return asUsage(() => keyFile.parseSeedHex(text, where));
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
      throw new UsageError(`${what} ${file} does not exist; choose a hotkey with --wallet/--hotkey (or --wallet-path), --seed-file, or BOOTKEY_HOTKEY_SEED`);
    }
    if (code === 'EACCES') throw new UsageError(`${what} ${file} cannot be read (permission denied)`);
    if (code === 'EISDIR') throw new UsageError(`${what} ${file} is a directory, not a file`);
    throw new UsageError(`${what} ${file} cannot be read (${code ?? 'error'})`);
  }
}

interface SeedFromSource extends SeedWithClaim {
  source: string;
}

function readWalletHotkey(file: string, source: string): SeedFromSource {
  const text = readFileOrFail(file, 'hotkey file');
  return { ...asUsage(() => keyFile.parseWalletKeyfile(text, file)), source };
}

/** Picks the seed source (see the module comment) and reads the seed. */
function readSeed(options: HotkeyOptions, env: NodeJS.ProcessEnv): SeedFromSource {
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

/**
 * Loads the hotkey and returns a signer. Throws UsageError (exit 2) for a missing or unreadable
 * file, a malformed seed, or a wallet file whose ss58Address is not the address its seed derives.
 */
export async function loadSigner(options: HotkeyOptions, env: NodeJS.ProcessEnv): Promise<Signer> {
  const { source, ...seed } = readSeed(options, env);
  try {
    const signer = await keyFile.signerFromSeed(seed);
    return { address: signer.address, source, sign: (message: string) => signer.sign(message) };
  } catch (error) {
    if (error instanceof KeyFileError) throw new UsageError(error.message);
    throw error;
  }
}
