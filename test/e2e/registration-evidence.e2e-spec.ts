/**
 * Registration evidence as the real Chutes VM serves it (issue 14): the broker fetches
 * `/server/attest` signed as a validator (VALIDATOR_KEY_FILE, here a Bittensor hotkey JSON file),
 * and the VM's attestation proxy answers only an allowed validator with a fresh signature over
 * `{ss58}:{ts}:attest`; its answer carries `tdx_quote` and the GPU evidence as a JSON string.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { signatureVerify } from '@polkadot/util-crypto';
import { DataSource } from 'typeorm';
import { ManualClock } from '../../src/common/clock/clock';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, EXPECTED_GPU, IMAGE } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { FakeAttestationService } from '../support/fake-attestation-service';
import { KeyringPair, testKeypair } from '../support/hotkey';
import { signedRequest } from '../support/signed';

const db = testDatabase('registration_evidence');
const clock = new ManualClock(BOOT_NOW);
const logs = jest.spyOn(Logger.prototype, 'log');
let env: BootEnv;
let app: TestApp;
let fake: FakeAttestationService;
let miner: KeyringPair;
let validator: KeyringPair;

const reg = (hex: string) => Buffer.from(hex, 'hex');
const unix = (date: Date) => Math.floor(date.getTime() / 1000);

function gpu(uuid: string, deviceIndex = 0) {
  return { uuid, name: 'H100', memory: 80 * 1024 ** 3, clock_rate: 1980, device_index: deviceIndex, gpu_identifier: EXPECTED_GPU, verification_host: '127.0.0.1', verification_port: 8443 };
}

const register = (id: string, gpus = [gpu(`GPU-${id}`)]) =>
  signedRequest<{ code?: string; message: string }>(miner, clock.now(), 'POST', `${app.baseUrl}/servers/`, { host: '127.0.0.1', id, name: `vm-${id}`, gpus }, { signature: 'v1' });

beforeAll(async () => {
  env = await createBootEnv();
  miner = await testKeypair('//registration-evidence-miner');
  fake = await new FakeAttestationService(env.forge).start();
  fake.quoteOptions = { mrtd: reg(IMAGE.mrtd), rtmrs: { rtmr0: reg(IMAGE.rtmr0), rtmr1: reg(IMAGE.rtmr1), rtmr2: reg(IMAGE.rtmr2), rtmr3: reg(IMAGE.rtmr3) } };
  fake.answerShape = 'chutes';
  // The validator's key as a Bittensor wallet hotkey file (a 0x-hex URI is the raw seed).
  const seed = randomBytes(32);
  validator = await testKeypair(`0x${seed.toString('hex')}`);
  fake.validatorRule = { allowed: [validator.address], now: () => clock.now() };
  const keyFile = path.join(env.dir, 'validator-hotkey.json');
  fs.writeFileSync(keyFile, JSON.stringify({ accountId: '0x', publicKey: '0x', secretPhrase: null, secretSeed: `0x${seed.toString('hex')}`, ss58Address: validator.address }), { mode: 0o600 });
  app = await startTestApp({
    database: db.target,
    clock,
    env: { ...env.env, ALLOW_PRIVATE_HOSTS: 'true', ATTESTATION_PORT: String(fake.port), GPU_EVIDENCE: 'skip', VALIDATOR_KEY_FILE: keyFile },
  });
});

afterAll(async () => {
  await app?.close();
  await fake?.stop();
  await db.drop();
  env?.cleanup();
});

describe('registration evidence signed as a validator', () => {
  it('prints the validator ss58 at start', () => {
    const lines = logs.mock.calls.map(([message]) => String(message)).filter((line) => line.includes(validator.address));
    expect(lines).toEqual([expect.stringMatching(/^validator key 5\w+ \(VALIDATOR_KEY_FILE\)/)]);
  });

  it('registers against a VM agent that enforces the validator rule and answers in the Chutes shape', async () => {
    const res = await register('srv-a');
    expect([res.status, res.json.code]).toEqual([201, undefined]);
    const seen = fake.requests.at(-1)!;
    expect(seen.verdict).toBe('ok');
    expect(seen.headers['x-chutes-hotkey']).toBe(validator.address);
    expect(seen.headers['x-chutes-nonce']).toBe(String(unix(clock.now())));
    const signature = Buffer.from(String(seen.headers['x-chutes-signature']), 'hex');
    expect(signatureVerify(`${validator.address}:${unix(clock.now())}:attest`, signature, validator.address).isValid).toBe(true);
  });

  it('signs every fetch afresh with the time of that fetch', async () => {
    clock.advance(45);
    expect((await register('srv-b')).status).toBe(201);
    const [first, second] = fake.requests.slice(-2);
    expect(second.headers['x-chutes-nonce']).toBe(String(unix(clock.now())));
    expect(second.headers['x-chutes-signature']).not.toBe(first.headers['x-chutes-signature']);
  });

  it.each([
    ['a VM that does not list this validator', () => (fake.validatorRule!.allowed = ['5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY']), 'not an allowed validator'],
    ['a VM whose clock is 30 s ahead (the signature is stale for it)', () => (fake.validatorRule!.now = () => new Date(clock.now().getTime() + 30_000)), 'stale'],
  ])('refuses %s: 502 ATTESTATION_SERVICE_REFUSED naming the validator, nothing stored, one failed audit row', async (_name, arrange, verdict) => {
    clock.advance(1);
    const saved = { ...fake.validatorRule! };
    arrange();
    const res = await register('srv-refused');
    fake.validatorRule = saved;
    expect(fake.requests.at(-1)!.verdict).toBe(verdict);
    expect([res.status, res.json.code]).toEqual([502, 'ATTESTATION_SERVICE_REFUSED']);
    expect(res.json.message).toContain(`validator ${validator.address} is not accepted`);
    const dataSource = app.app.get(DataSource);
    expect(await dataSource.query(`SELECT id FROM servers WHERE id = 'srv-refused'`)).toEqual([]);
    const rows: { outcome: string; error_code: string }[] = await dataSource.query(
      `SELECT outcome, error_code FROM server_attestations WHERE server_id = 'srv-refused' ORDER BY created_at DESC LIMIT 1`,
    );
    expect(rows).toEqual([{ outcome: 'failed', error_code: 'ATTESTATION_SERVICE_REFUSED' }]);
  });
});
