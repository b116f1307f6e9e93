import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, signatureVerify } from '@polkadot/util-crypto';
import { AppConfig, ConfigError, loadConfig } from '../config/app-config';
import { ManualClock } from '../common/clock/clock';
import { loadValidatorKey, ValidatorKey } from './validator-key';

const SEED = '3f'.repeat(32);
const NOW = new Date('2026-03-01T12:00:00Z');
let dir: string;
let address: string;

beforeAll(async () => {
  await cryptoWaitReady();
  address = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromSeed(Buffer.from(SEED, 'hex')).address;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-validator-key-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string, mode = 0o600): string {
  const target = path.join(dir, name);
  fs.writeFileSync(target, content, { mode });
  fs.chmodSync(target, mode);
  return target;
}

async function started(config: Partial<AppConfig>): Promise<ValidatorKey> {
  const key = new ValidatorKey(new ManualClock(NOW), { ...loadConfig({}), ...config });
  await key.onModuleInit();
  return key;
}

describe('ValidatorKey', () => {
  it.each([
    ['a hex seed file', () => file('seed', `${SEED}\n`)],
    ['a 0x hex seed file', () => file('seed0x', `0x${SEED}`)],
    ['a Bittensor hotkey JSON file', () => file('hotkey', JSON.stringify({ secretSeed: `0x${SEED}`, ss58Address: address, accountId: '0x00' }))],
  ])("signs `{ss58}:{ts}:attest` with %s, ts being the clock's unix seconds", async (_name, make) => {
    const key = await started({ validatorKeyFile: make() });
    const headers = key.headers();
    expect(key.address).toBe(address);
    expect(headers['X-Chutes-Hotkey']).toBe(address);
    expect(headers['X-Chutes-Nonce']).toBe(String(NOW.getTime() / 1000));
    expect(headers['X-Chutes-Signature']).toMatch(/^[0-9a-f]{128}$/);
    expect(signatureVerify(`${address}:${NOW.getTime() / 1000}:attest`, Buffer.from(headers['X-Chutes-Signature'], 'hex'), address).isValid).toBe(true);
  });

  it('logs its ss58 at start (never the seed), and sends no headers without a key', async () => {
    const logs = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await started({ validatorKeyFile: file('logged', SEED, 0o644) });
    const lines = [...logs.mock.calls, ...warnings.mock.calls].map(([message]) => String(message));
    expect(lines.filter((line) => line.includes(address))).toHaveLength(1);
    expect(lines.some((line) => /readable by group or others \(mode 644\)/.test(line))).toBe(true);
    expect(lines.join('\n')).not.toContain(SEED.slice(0, 16));
    const none = await started({ validatorKeyFile: undefined });
    expect([none.address, none.headers()]).toEqual([undefined, {}]);
    expect(warnings.mock.calls.some(([message]) => String(message).includes('VALIDATOR_KEY_FILE is not set'))).toBe(true);
    logs.mockRestore();
    warnings.mockRestore();
  });

  it.each([
    ['a missing file', () => path.join(dir, 'absent'), /^invalid configuration: VALIDATOR_KEY_FILE cannot be read \(ENOENT: .*absent\)$/],
    [
      'a short seed',
      () => file('short', SEED.slice(4)),
      /^invalid configuration: VALIDATOR_KEY_FILE .*short does not hold a hotkey seed: .* or a Bittensor hotkey JSON file$/,
    ],
    ['a mnemonic', () => file('mnemonic', 'bottom drive obey lake curtain smoke basket hold race lonely fit walk'), /does not hold a hotkey seed/],
    [
      'a public-only keyfile',
      () => file('public', JSON.stringify({ ss58Address: address })),
      /^invalid configuration: VALIDATOR_KEY_FILE hotkey file .* has no secretSeed/,
    ],
    ['an encrypted keyfile', () => file('nacl', `$NACL${'x'.repeat(40)}`), /looks encrypted/],
    [
      'a keyfile naming another address',
      () => file('other', JSON.stringify({ secretSeed: SEED, ss58Address: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY' })),
      /names ss58Address 5Grwva.*but its secretSeed derives/,
    ],
  ])('refuses %s at start with one line naming the variable, never the seed', async (_name, make, message) => {
    const target = make();
    const error = await loadValidatorKey(target).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).not.toContain(SEED.slice(4, 20));
  });
});
