/**
 * Registration of gen-C VMs (issue 15, `vm_auth`; DESIGN.md "Registration evidence"): the evidence
 * fetch is signed with the VM's per-boot vm_auth key when its latest boot made one (its proxy allows
 * only that key), else with the validator key; the proxy's TLS leaf must be issued by the VM root
 * CA recorded at /provision; the proxy's response proof (miner signature over `{ss58}:{ts}:tee`)
 * proves the miner's hotkey to the appraisal. The boot states are recorded here through
 * VmAuthService as the boot and /provision do.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { signatureVerify } from '@polkadot/util-crypto';
import { DataSource } from 'typeorm';
import { ManualClock } from '../../src/common/clock/clock';
import { Database } from '../../src/database/executor';
import { AppraisalRequest, QuoteAppraisalService } from '../../src/attestation/quote-appraisal.service';
import { VmAuthService } from '../../src/vm-auth/vm-auth.service';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, EXPECTED_GPU, IMAGE } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { FakeAttestationService, teeProofHeaders } from '../support/fake-attestation-service';
import { KeyringPair, testKeypair } from '../support/hotkey';
import { signedRequest } from '../support/signed';
import { selfSignedCert, testCa, TestCert } from '../support/tls';

const db = testDatabase('registration_vm_auth');
const clock = new ManualClock(BOOT_NOW);
const appraisals = jest.spyOn(QuoteAppraisalService.prototype, 'appraise');
let env: BootEnv;
let app: TestApp;
let fake: FakeAttestationService;
let ownLeaf: TestCert;
let miner: KeyringPair;
let stranger: KeyringPair;
let validator: KeyringPair;

const reg = (hex: string) => Buffer.from(hex, 'hex');
const unix = (date: Date) => Math.floor(date.getTime() / 1000);

const register = (vmName: string) =>
  signedRequest<{ code?: string; message: string }>(
    miner,
    clock.now(),
    'POST',
    `${app.baseUrl}/servers/`,
    {
      host: '127.0.0.1',
      id: `id-${vmName}`,
      name: vmName,
      gpus: [
        {
          uuid: `GPU-${vmName}`,
          name: 'H100',
          memory: 80 * 1024 ** 3,
          clock_rate: 1980,
          device_index: 0,
          gpu_identifier: EXPECTED_GPU,
          verification_host: '127.0.0.1',
          verification_port: 8443,
        },
      ],
    },
    { signature: 'v1' },
  );

/** Records a boot of (miner, vmName) as the boot does; gen C makes a vm_auth key (its ss58 returned). */
async function boot(vmName: string, genC: boolean): Promise<{ ss58: string | null; attestationId: string }> {
  const attestationId = randomUUID();
  const vmAuth = app.app.get(VmAuthService);
  const ss58 = await app.app
    .get(Database)
    .transaction((tx) =>
      vmAuth.recordBoot(
        { minerHotkey: miner.address, vmName, attestationId, measurementSetId: null, measurementVersion: null, clientIp: '127.0.0.1', bootedAt: clock.now() },
        genC,
        tx,
      ),
    );
  return { ss58, attestationId };
}

/** Records the VM root CA as /provision does. */
async function provision(vmName: string, attestationId: string, caPem: string): Promise<void> {
  const vmAuth = app.app.get(VmAuthService);
  const recorded = await app.app
    .get(Database)
    .transaction((tx) => vmAuth.recordRootCa({ minerHotkey: miner.address, vmName }, attestationId, caPem, clock.now(), tx));
  expect(recorded).toBe(true);
}

/** The registration attempt's audit row. */
async function auditOf(vmName: string): Promise<{ outcome: string; error_code: string | null; verdict: Record<string, unknown> }> {
  const rows: { outcome: string; error_code: string | null; verdict: Record<string, unknown> }[] = await app.app
    .get(DataSource)
    .query(`SELECT outcome, error_code, verdict FROM server_attestations WHERE server_id = $1 ORDER BY created_at DESC LIMIT 1`, [`id-${vmName}`]);
  expect(rows).toHaveLength(1);
  return rows[0];
}

async function isRegistered(vmName: string): Promise<boolean> {
  const rows: unknown[] = await app.app.get(DataSource).query(`SELECT id FROM servers WHERE id = $1`, [`id-${vmName}`]);
  return rows.length === 1;
}

/** The AppraisalRequest of the latest appraisal. */
const lastAppraisal = (): AppraisalRequest => appraisals.mock.calls.at(-1)![2];

beforeAll(async () => {
  env = await createBootEnv();
  miner = await testKeypair('//vm-auth-miner');
  stranger = await testKeypair('//vm-auth-stranger');
  fake = await new FakeAttestationService(env.forge).start();
  fake.quoteOptions = { mrtd: reg(IMAGE.mrtd), rtmrs: { rtmr0: reg(IMAGE.rtmr0), rtmr1: reg(IMAGE.rtmr1), rtmr2: reg(IMAGE.rtmr2), rtmr3: reg(IMAGE.rtmr3) } };
  fake.answerShape = 'chutes';
  ownLeaf = await selfSignedCert('proxy leaf', true);
  fake.presentCertificate(ownLeaf);
  const seed = randomBytes(32).toString('hex');
  validator = await testKeypair(`0x${seed}`);
  const keyFile = path.join(env.dir, 'validator.seed');
  fs.writeFileSync(keyFile, `${seed}\n`, { mode: 0o600 });
  const verifier = path.join(env.dir, 'gpu-verifier.sh');
  fs.writeFileSync(verifier, '#!/bin/sh\n[ "$1" = --nonce ] && [ "$3" = --evidence ] && [ -s "$4" ]\n', { mode: 0o755 });
  app = await startTestApp({
    database: db.target,
    clock,
    env: { ...env.env, ALLOW_PRIVATE_HOSTS: 'true', ATTESTATION_PORT: String(fake.port), GPU_EVIDENCE_VERIFIER: verifier, VALIDATOR_KEY_FILE: keyFile },
  });
});

beforeEach(() => {
  fake.validatorRule = { allowed: [validator.address], now: () => clock.now() };
  fake.responseProof = undefined;
  fake.presentCertificate(ownLeaf);
});

afterAll(async () => {
  await app?.close();
  await fake?.stop();
  await db.drop();
  env?.cleanup();
});

describe('the signer of the evidence fetch', () => {
  it("signs with the vm_auth key of the VM's latest gen-C boot, the only key its proxy allows", async () => {
    const { ss58 } = await boot('vm-c1', true);
    expect(ss58).toMatch(/^5\w{47}$/);
    fake.validatorRule!.allowed = [ss58!];
    const res = await register('vm-c1');
    expect([res.status, res.json.code]).toEqual([201, undefined]);
    const seen = fake.requests.at(-1)!;
    expect(seen.verdict).toBe('ok');
    expect(seen.headers['x-chutes-hotkey']).toBe(ss58);
    expect(seen.headers['x-chutes-nonce']).toBe(String(unix(clock.now())));
    const signature = Buffer.from(String(seen.headers['x-chutes-signature']), 'hex');
    expect(signatureVerify(`${ss58}:${unix(clock.now())}:attest`, signature, ss58!).isValid).toBe(true);
    const audit = await auditOf('vm-c1');
    expect(audit.outcome).toBe('verified');
    expect(audit.verdict).toMatchObject({ signer: 'vm_auth', signer_ss58: ss58, vm_root_ca: 'not_recorded' });
  });

  it.each([
    ['whose latest boot was gen B (no vm_auth key)', 'vm-b1', true],
    ['that never booted here', 'vm-n1', false],
  ])('signs with the validator key for a VM %s', async (_name, vmName, booted) => {
    if (booted) expect((await boot(vmName, false)).ss58).toBeNull();
    const res = await register(vmName);
    expect([res.status, res.json.code]).toEqual([201, undefined]);
    expect(fake.requests.at(-1)!.headers['x-chutes-hotkey']).toBe(validator.address);
    expect((await auditOf(vmName)).verdict).toMatchObject({ signer: 'validator', signer_ss58: validator.address });
  });

  it('a gen-B boot after a gen-C one drops the vm_auth key: back to the validator key', async () => {
    await boot('vm-cb', true);
    await boot('vm-cb', false);
    expect((await register('vm-cb')).status).toBe(201);
    expect((await auditOf('vm-cb')).verdict).toMatchObject({ signer: 'validator' });
  });

  it("a proxy still holding the previous boot's key refuses the new one: 502 ATTESTATION_SERVICE_REFUSED naming the vm_auth key", async () => {
    const first = await boot('vm-c2', true);
    const second = await boot('vm-c2', true);
    expect(second.ss58).not.toBe(first.ss58);
    fake.validatorRule!.allowed = [first.ss58!];
    const res = await register('vm-c2');
    expect(fake.requests.at(-1)!.verdict).toBe('not an allowed validator');
    expect(fake.requests.at(-1)!.headers['x-chutes-hotkey']).toBe(second.ss58);
    expect([res.status, res.json.code]).toEqual([502, 'ATTESTATION_SERVICE_REFUSED']);
    expect(res.json.message).toContain(`the vm_auth key ${second.ss58} made at the VM's latest boot is not accepted`);
    expect(await isRegistered('vm-c2')).toBe(false);
    const audit = await auditOf('vm-c2');
    expect([audit.outcome, audit.error_code, audit.verdict.signer]).toEqual(['failed', 'ATTESTATION_SERVICE_REFUSED', 'vm_auth']);
  });
});

describe('the VM root CA recorded at /provision', () => {
  it("accepts a proxy leaf the VM's root CA issued, and still binds REPORTDATA to that leaf", async () => {
    const { ss58, attestationId } = await boot('vm-ca1', true);
    const ca = await testCa('vm-ca1 root');
    await provision('vm-ca1', attestationId, ca.certPem);
    fake.validatorRule!.allowed = [ss58!];
    const leaf = await ca.issue('vm-ca1 proxy');
    fake.presentCertificate(leaf);
    const res = await register('vm-ca1');
    expect([res.status, res.json.code]).toEqual([201, undefined]);
    expect((await auditOf('vm-ca1')).verdict).toMatchObject({ vm_root_ca: 'ok', report_data: 'ok' });
    expect(lastAppraisal().keyHash).toBe(leaf.spkiSha256);
  });

  it('refuses a leaf of the right CA whose key the quote does not bind (401 REPORT_DATA_MISMATCH)', async () => {
    const { ss58, attestationId } = await boot('vm-ca2', true);
    const ca = await testCa('vm-ca2 root');
    await provision('vm-ca2', attestationId, ca.certPem);
    fake.validatorRule!.allowed = [ss58!];
    fake.presentCertificate(await ca.issue('vm-ca2 proxy'));
    fake.mode = 'wrong-key';
    const res = await register('vm-ca2');
    fake.mode = 'ok';
    expect([res.status, res.json.code]).toEqual([401, 'REPORT_DATA_MISMATCH']);
    expect((await auditOf('vm-ca2')).verdict).toMatchObject({ vm_root_ca: 'ok', report_data: 'key_mismatch' });
  });

  it.each([
    ['a leaf issued by another CA', 'vm-ca3', async () => (await testCa('someone else root')).issue('proxy'), 'issuer_mismatch'],
    ['a self-signed leaf', 'vm-ca4', () => selfSignedCert('proxy', true), 'self_signed'],
    ['a leaf of a CA with the same name but another key', 'vm-ca5', async (name: string) => (await testCa(`${name} root`)).issue('proxy'), 'signature_invalid'],
  ])('refuses %s: 403 VM_ROOT_CA_MISMATCH, nothing stored, audited with why', async (_name, vmName, leafOf, verdict) => {
    const { ss58, attestationId } = await boot(vmName, true);
    await provision(vmName, attestationId, (await testCa(`${vmName} root`)).certPem);
    fake.validatorRule!.allowed = [ss58!];
    fake.presentCertificate(await leafOf(vmName));
    const before = appraisals.mock.calls.length;
    const res = await register(vmName);
    expect([res.status, res.json.code]).toEqual([403, 'VM_ROOT_CA_MISMATCH']);
    expect(res.json.message).toContain(`not issued by the root CA ${vmName} recorded at its latest boot`);
    expect(appraisals.mock.calls.length).toBe(before); // refused before any appraisal
    expect(await isRegistered(vmName)).toBe(false);
    const audit = await auditOf(vmName);
    expect([audit.outcome, audit.error_code]).toEqual(['failed', 'VM_ROOT_CA_MISMATCH']);
    expect(audit.verdict).toMatchObject({ signer: 'vm_auth', vm_root_ca: verdict });
  });

  it('checks nothing after a reboot that has not reached /provision yet (the new boot recorded no CA)', async () => {
    const first = await boot('vm-ca6', true);
    await provision('vm-ca6', first.attestationId, (await testCa('vm-ca6 root')).certPem);
    const { ss58 } = await boot('vm-ca6', true);
    fake.validatorRule!.allowed = [ss58!];
    expect((await register('vm-ca6')).status).toBe(201);
    expect((await auditOf('vm-ca6')).verdict).toMatchObject({ vm_root_ca: 'not_recorded' });
  });
});

describe("the proxy's response proof", () => {
  it("proves the miner's hotkey to the appraisal when valid and fresh", async () => {
    fake.responseProof = () => teeProofHeaders(miner, unix(clock.now()) - 590);
    expect((await register('vm-p1')).status).toBe(201);
    expect(lastAppraisal().provenHotkey).toBe(miner.address);
    expect((await auditOf('vm-p1')).verdict).toMatchObject({ response_proof: 'ok' });
  });

  it.each([
    ['absent', 'vm-p2', undefined, 'absent'],
    ['stale (601 s old)', 'vm-p3', () => teeProofHeaders(miner, unix(clock.now()) - 601), 'stale'],
    [
      'signed by another key',
      'vm-p4',
      () => ({ ...teeProofHeaders(miner, unix(clock.now())), 'X-Chutes-Signature': teeProofHeaders(stranger, unix(clock.now()))['X-Chutes-Signature'] }),
      'invalid_signature',
    ],
    ['incomplete (no signature)', 'vm-p5', () => ({ 'X-Chutes-Hotkey': miner.address, 'X-Chutes-Nonce': String(unix(clock.now())) }), 'malformed'],
    ["valid, but another miner's hotkey", 'vm-p6', () => teeProofHeaders(stranger, unix(clock.now())), 'other_hotkey'],
  ])('is no proof when %s: the registration goes on without a proven hotkey, the verdict says why', async (_name, vmName, proof, verdict) => {
    fake.responseProof = proof;
    const res = await register(vmName);
    expect([res.status, res.json.code]).toEqual([201, undefined]);
    expect(lastAppraisal().provenHotkey).toBeUndefined();
    expect((await auditOf(vmName)).verdict).toMatchObject({ response_proof: verdict });
  });
});
