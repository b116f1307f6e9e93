import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, encodeAddress, signatureVerify } from '@polkadot/util-crypto';
import { UsageError } from './errors';
import { hotkeyFilePath, loadSigner, parseSeedHex } from './wallet';

const SEED_HEX = 'a7'.repeat(16) + '3c'.repeat(16);
const OTHER_SEED_HEX = '11'.repeat(32);
let dir: string;
let address: string;
let otherAddress: string;

function addressOf(seedHex: string): string {
  return new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromSeed(Buffer.from(seedHex, 'hex')).address;
}

function writeHotkey(root: string, wallet: string, hotkey: string, content: string): string {
  const file = path.join(root, wallet, 'hotkeys', hotkey);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode: 0o600 });
  return file;
}

/** The UsageError message a load fails with; fails the test if it does not fail that way. */
async function usageError(load: Promise<unknown>): Promise<string> {
  const error = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  const message = (error as UsageError).message;
  // Never a seed, or any 16-character piece of one.
  for (const seed of [SEED_HEX, OTHER_SEED_HEX]) {
    for (let i = 0; i + 16 <= seed.length; i += 8) expect(message.toLowerCase()).not.toContain(seed.slice(i, i + 16));
  }
  return message;
}

beforeAll(async () => {
  await cryptoWaitReady();
  address = addressOf(SEED_HEX);
  otherAddress = addressOf(OTHER_SEED_HEX);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-wallet-'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('parseSeedHex', () => {
  it.each([
    ['plain', SEED_HEX],
    ['0x-prefixed', `0x${SEED_HEX}`],
    ['upper case with a trailing newline', `${SEED_HEX.toUpperCase()}\n`],
  ])('accepts %s', (_name, text) => {
    expect(Buffer.from(parseSeedHex(text, 'x')).toString('hex')).toBe(SEED_HEX);
  });

  it.each([
    ['too short', SEED_HEX.slice(2)],
    ['too long', `${SEED_HEX}00`],
    ['not hex', `${SEED_HEX.slice(2)}zz`],
    ['a mnemonic', 'bottom drive obey lake curtain smoke basket hold race lonely fit walk'],
    ['empty', ''],
  ])('refuses %s, naming where the seed came from and never echoing it', (_name, text) => {
    expect(() => parseSeedHex(text, 'seed file /s')).toThrow(UsageError);
    try {
      parseSeedHex(text, 'seed file /s');
    } catch (error) {
      expect((error as Error).message).toMatch(/^seed file \/s does not hold a hotkey seed/);
      if (text.length > 8) expect((error as Error).message).not.toContain(text.trim().slice(0, 8));
    }
  });
});

describe('loadSigner', () => {
  it('reads the Bittensor wallet layout, and signs so the address verifies', async () => {
    writeHotkey(dir, 'miner', 'hk1', JSON.stringify({ secretSeed: `0x${SEED_HEX}`, ss58Address: address, accountId: '0x00' }));
    const signer = await loadSigner({ walletPath: dir, wallet: 'miner', hotkey: 'hk1' }, {});
    expect(signer.address).toBe(address);
    expect(signer.source).toBe('wallet miner hotkey hk1');
    expect(signatureVerify('hello', signer.sign('hello'), address).isValid).toBe(true);
  });

  it('defaults to wallet "default", hotkey "default" under BT_WALLET_PATH, else $HOME/.bittensor/wallets', async () => {
    writeHotkey(dir, 'default', 'default', JSON.stringify({ secretSeed: `0x${SEED_HEX}`, ss58Address: address }));
    expect(hotkeyFilePath({}, { BT_WALLET_PATH: dir })).toBe(path.join(dir, 'default', 'hotkeys', 'default'));
    expect(hotkeyFilePath({}, { HOME: '/home/m' })).toBe('/home/m/.bittensor/wallets/default/hotkeys/default');
    expect(hotkeyFilePath({ walletPath: '/w' }, { BT_WALLET_PATH: dir })).toBe('/w/default/hotkeys/default');
    expect((await loadSigner({}, { BT_WALLET_PATH: dir })).address).toBe(address);
  });

  it('accepts a wallet file whose ss58Address uses another ss58 prefix for the same key', async () => {
    const polkadotForm = encodeAddress(new Keyring({ type: 'sr25519' }).addFromSeed(Buffer.from(SEED_HEX, 'hex')).publicKey, 0);
    writeHotkey(dir, 'prefix', 'default', JSON.stringify({ secretSeed: SEED_HEX, ss58Address: polkadotForm }));
    expect((await loadSigner({ walletPath: dir, wallet: 'prefix' }, {})).address).toBe(address);
  });

  it('prefers --seed-file to BOOTKEY_HOTKEY_SEED, and both to the wallet', async () => {
    const seedFile = path.join(dir, 'seed');
    fs.writeFileSync(seedFile, `0x${OTHER_SEED_HEX}\n`);
    const env = { BOOTKEY_HOTKEY_SEED: SEED_HEX, BT_WALLET_PATH: path.join(dir, 'nowhere') };
    expect((await loadSigner({ seedFile }, env)).address).toBe(otherAddress);
    expect((await loadSigner({}, env)).address).toBe(address);
    expect((await loadSigner({}, env)).source).toBe('BOOTKEY_HOTKEY_SEED');
  });

  it('refuses a wallet file whose ss58Address is not the key its seed derives', async () => {
    writeHotkey(dir, 'mismatch', 'default', JSON.stringify({ secretSeed: `0x${SEED_HEX}`, ss58Address: otherAddress }));
    const message = await usageError(loadSigner({ walletPath: dir, wallet: 'mismatch' }, {}));
    expect(message).toContain(`names ss58Address ${otherAddress}, but its secretSeed derives ${address}`);
  });

  const badWallets: [string, string, RegExp][] = [
    ['not JSON', 'secretSeed=abc', /is not a JSON Bittensor keyfile$/],
    ['encrypted', '$NACL' + 'x'.repeat(40), /looks encrypted/],
    ['a JSON list', '[]', /expected an object with secretSeed and ss58Address/],
    ['public only', JSON.stringify({ ss58Address: 'x', publicKey: '0x00' }), /has no secretSeed/],
    ['a short seed', JSON.stringify({ secretSeed: `0x${SEED_HEX.slice(4)}` }), /the secretSeed in hotkey file .* does not hold a hotkey seed/],
    ['a non-string address', JSON.stringify({ secretSeed: `0x${SEED_HEX}`, ss58Address: 42 }), /ss58Address that is not a string/],
  ];
  it.each(badWallets)('refuses a wallet file that is %s', async (name, content, expected) => {
    writeHotkey(dir, `bad-${name.replace(/\W/g, '')}`, 'default', content);
    expect(await usageError(loadSigner({ walletPath: dir, wallet: `bad-${name.replace(/\W/g, '')}` }, {}))).toMatch(expected);
  });

  it('refuses a missing wallet file or seed file with what to do, and a bad seed file or variable', async () => {
    expect(await usageError(loadSigner({ walletPath: dir, wallet: 'absent' }, {}))).toMatch(/does not exist; choose a hotkey with --wallet\/--hotkey/);
    expect(await usageError(loadSigner({ seedFile: path.join(dir, 'absent-seed') }, {}))).toMatch(/^seed file .* does not exist/);
    expect(await usageError(loadSigner({ seedFile: dir }, {}))).toMatch(/is a directory/);
    const badSeed = path.join(dir, 'bad-seed');
    fs.writeFileSync(badSeed, `${SEED_HEX}${SEED_HEX}\n`);
    expect(await usageError(loadSigner({ seedFile: badSeed }, {}))).toMatch(/does not hold a hotkey seed/);
    expect(await usageError(loadSigner({}, { BOOTKEY_HOTKEY_SEED: SEED_HEX.slice(1) }))).toMatch(/^BOOTKEY_HOTKEY_SEED does not hold a hotkey seed/);
  });
});
