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
  return {
    uuid,
    name: 'H100',
    memory: 80 * 1024 ** 3,
    clock_rate: 1980,
    device_index: deviceIndex,
    gpu_identifier: EXPECTED_GPU,
    verification_host: '127.0.0.1',
    verification_port: 8443,
  };
}

const register = (id: string, gpus = [gpu(`GPU-${id}`)]) =>
  signedRequest<{ code?: string; message: string }>(
    miner,
    clock.now(),
    'POST',
    `${app.baseUrl}/servers/`,
    { host: '127.0.0.1', id, name: `vm-${id}`, gpus },
    { signature: 'v1' },
  );

/** What the fake chutes-nvattest saw on one run. */
interface NvattestRun {
  argv: string[];
  evidence: unknown;
  declared: unknown;
  declaredFile: string | null;
  env: string[];
  exit: number;
}

/**
 * A stand-in for chutes-nvattest: checks its argv (`--nonce <64 hex> --evidence <file>`), that the
 * evidence file holds a JSON array and that BOOTKEY_DECLARED_GPUS_FILE names a JSON array, records
 * what it saw, and exits 0 only when every check passes and no evidence item says `valid: false`.
 */
function writeFakeNvattest(): string {
  const script = path.join(env.dir, 'chutes-nvattest');
  const log = path.join(env.dir, 'nvattest-runs.jsonl');
  fs.writeFileSync(
    script,
    `#!${process.execPath}
const fs = require('node:fs');
const argv = process.argv.slice(2);
const read = (file) => { try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return undefined; } };
const declaredFile = process.env.BOOTKEY_DECLARED_GPUS_FILE ?? null;
const evidence = argv[3] ? read(argv[3]) : undefined;
const declared = declaredFile ? read(declaredFile) : undefined;
let exit = 0;
if (argv.length !== 4 || argv[0] !== '--nonce' || !/^[0-9a-f]{64}$/.test(argv[1]) || argv[2] !== '--evidence') exit = 2;
else if (!Array.isArray(evidence)) exit = 3;
else if (!Array.isArray(declared)) exit = 4;
else if (evidence.some((item) => item && item.valid === false)) exit = 1;
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv, evidence, declared, declaredFile, env: Object.keys(process.env).sort(), exit }) + '\\n');
process.exit(exit);
`,
    { mode: 0o755 },
  );
  return script;
}

function nvattestRuns(): NvattestRun[] {
  const log = path.join(env.dir, 'nvattest-runs.jsonl');
  return fs.existsSync(log)
    ? fs
        .readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as NvattestRun)
    : [];
}

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
  fs.writeFileSync(
    keyFile,
    JSON.stringify({ accountId: '0x', publicKey: '0x', secretPhrase: null, secretSeed: `0x${seed.toString('hex')}`, ss58Address: validator.address }),
    { mode: 0o600 },
  );
  app = await startTestApp({
    database: db.target,
    clock,
    env: {
      ...env.env,
      ALLOW_PRIVATE_HOSTS: 'true',
      ATTESTATION_PORT: String(fake.port),
      GPU_EVIDENCE_VERIFIER: writeFakeNvattest(),
      VALIDATOR_KEY_FILE: keyFile,
    },
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

  it('runs the GPU verifier as chutes-nvattest: --nonce <the fetch nonce> --evidence <the array, decoded once>, declared GPUs in BOOTKEY_DECLARED_GPUS_FILE', async () => {
    fake.gpuEvidence = [
      { gpu: 'GPU-c0', evidence: 'ZXZpZGVuY2U=', certificate: 'Y2VydA==', arch: 'HOPPER' },
      { gpu: 'GPU-c1', evidence: 'ZXZpZGVuY2U=', certificate: 'Y2VydA==', arch: 'HOPPER' },
    ];
    const gpus = [gpu('GPU-c0'), { ...gpu('GPU-c1', 1), major: 9, minor: 0, ecc: true }];
    const before = nvattestRuns().length;
    const res = await register('srv-c', gpus);
    expect([res.status, res.json.code]).toEqual([201, undefined]);
    const runs = nvattestRuns().slice(before);
    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(run.exit).toBe(0);
    expect(run.argv).toEqual(['--nonce', fake.nonces.at(-1), '--evidence', expect.stringMatching(/evidence\.json$/)]);
    // The VM sent the array JSON-encoded into a string (the real proxy's shape); the file holds the array itself.
    expect(run.evidence).toEqual(fake.gpuEvidence);
    expect(run.declared).toEqual(gpus);
    // A filtered environment: the declared-GPU file and nothing of the broker's configuration.
    expect(run.env).toContain('BOOTKEY_DECLARED_GPUS_FILE');
    expect(run.env.filter((name) => /KEK|DATABASE|VALIDATOR|MEASUREMENTS|TLS|DCAP|COLLATERAL/.test(name))).toEqual([]);
    // Both files are gone once the verifier has answered.
    expect(fs.existsSync(run.argv[3])).toBe(false);
    expect(fs.existsSync(run.declaredFile!)).toBe(false);
  });

  it('refuses evidence the verifier rejects (403 GPU_EVIDENCE_INVALID) and evidence that is not an array without running it', async () => {
    const saved = fake.gpuEvidence;
    const before = nvattestRuns().length;
    fake.gpuEvidence = [{ gpu: 'GPU-d0', valid: false }];
    const rejected = await register('srv-d');
    fake.gpuEvidence = { gpu: 'GPU-d0' };
    const notArray = await register('srv-d');
    fake.gpuEvidence = saved;
    expect([rejected.status, rejected.json.code, notArray.status, notArray.json.code]).toEqual([403, 'GPU_EVIDENCE_INVALID', 403, 'GPU_EVIDENCE_INVALID']);
    expect(
      nvattestRuns()
        .slice(before)
        .map((run) => run.exit),
    ).toEqual([1]);
  });

  it('signs every fetch afresh with the time of that fetch', async () => {
    clock.advance(45);
    expect((await register('srv-b')).status).toBe(201);
    const [first, second] = fake.requests.slice(-2);
    expect(second.headers['x-chutes-nonce']).toBe(String(unix(clock.now())));
    expect(second.headers['x-chutes-signature']).not.toBe(first.headers['x-chutes-signature']);
  });

  it.each([
    [
      'a VM that does not list this validator',
      () => (fake.validatorRule!.allowed = ['5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY']),
      'not an allowed validator',
    ],
    [
      'a VM whose clock is 30 s ahead (the signature is stale for it)',
      () => (fake.validatorRule!.now = () => new Date(clock.now().getTime() + 30_000)),
      'stale',
    ],
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
