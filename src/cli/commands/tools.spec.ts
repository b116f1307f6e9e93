import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { KEK_ID_PATTERN, KEY_BYTES } from '../../keys/envelope';
import { parseKekList } from '../../keys/kek-ring';
import { runCli } from '../main';
import { defaultKekId, KEK_BYTES, KEK_ID, kekLine, quoteFileToBase64 } from './tools';

describe('keygen', () => {
  it('uses the KEK id rule and key size of the broker', () => {
    expect(KEK_ID.source).toBe(KEK_ID_PATTERN.source);
    expect(KEK_BYTES).toBe(KEY_BYTES);
  });

  it('prints a line BROKER_KEKS accepts, different every time', () => {
    const line = kekLine('kek-2026.03_a');
    const [kek] = parseKekList(line, 'BROKER_KEKS');
    expect(kek.id).toBe('kek-2026.03_a');
    expect(kek.key).toHaveLength(32);
    expect(kekLine('a')).not.toBe(kekLine('a'));
  });

  it('defaults the id to kek-YYYYMMDD', () => {
    expect(defaultKekId(new Date('2026-03-01T12:00:00Z'))).toBe('kek-20260301');
  });
});

describe('quoteFileToBase64', () => {
  const raw = Buffer.from([0x04, 0x00, 0x02, 0x00, 0x81, 0x00, 0x00, 0x00, 0xff]);
  it('encodes raw quote bytes, and passes base64 text through without its whitespace', () => {
    expect(quoteFileToBase64(raw)).toBe(raw.toString('base64'));
    const text = raw.toString('base64');
    expect(quoteFileToBase64(Buffer.from(`${text.slice(0, 4)}\n${text.slice(4)}\n`))).toBe(text);
  });
});

describe('validator show', () => {
  const SEED = '5e'.repeat(32);
  let dir: string;
  let address: string;

  beforeAll(async () => {
    await cryptoWaitReady();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-validator-'));
    address = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromSeed(Buffer.from(SEED, 'hex')).address;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['node', 'bootkey', ...args], {
      env,
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
    });
    const result = { code, stdout: out.join(''), stderr: err.join('') };
    // Whatever happened, no part of the seed is printed.
    expect(result.stdout + result.stderr).not.toContain(SEED.slice(0, 16));
    return result;
  }

  function file(name: string, content: string): string {
    const target = path.join(dir, name);
    fs.writeFileSync(target, content, { mode: 0o600 });
    return target;
  }

  it('prints the ss58 of a hex seed file (--key-file) or a Bittensor hotkey JSON file (VALIDATOR_KEY_FILE), without a broker', async () => {
    expect(await run(['validator', 'show', '--key-file', file('seed', `0x${SEED}\n`)])).toEqual({ code: 0, stdout: `${address}\n`, stderr: '' });
    const wallet = file('hotkey.json', JSON.stringify({ secretSeed: `0x${SEED}`, ss58Address: address, publicKey: '0x00' }));
    expect(await run(['validator', 'show'], { VALIDATOR_KEY_FILE: wallet })).toEqual({ code: 0, stdout: `${address}\n`, stderr: '' });
    expect(JSON.parse((await run(['--json', 'validator', 'show', '--key-file', wallet])).stdout)).toEqual({ ss58_address: address, file: wallet });
  });

  it.each([
    ['no file at all', [], {}, /pass --key-file or set VALIDATOR_KEY_FILE/],
    ['a missing file', ['--key-file', '/nonexistent/validator'], {}, /--key-file cannot be read \(ENOENT/],
    ['a short seed', [], { VALIDATOR_KEY_FILE: 'short' }, /^bootkey: VALIDATOR_KEY_FILE .*short does not hold a hotkey seed.*or a Bittensor hotkey JSON file/m],
    [
      'a wallet whose address is another key',
      [],
      { VALIDATOR_KEY_FILE: 'mismatch' },
      /names ss58Address 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, but its secretSeed derives/,
    ],
  ])('refuses %s with exit 2', async (_name, args, env, message) => {
    const files: Record<string, string> = {
      short: file('short', SEED.slice(2)),
      mismatch: file('mismatch', JSON.stringify({ secretSeed: SEED, ss58Address: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY' })),
    };
    const resolved = Object.fromEntries(Object.entries(env).map(([key, value]) => [key, files[value] ?? value]));
    const result = await run(['validator', 'show', ...args], resolved);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
