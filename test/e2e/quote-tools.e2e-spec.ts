/**
 * The public quote tools on the real Intel fixture, with its real collateral served offline
 * from COLLATERAL_DIR and the clock set inside (and outside) its validity window.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from '../../src/common/clock/clock';
import { httpRequest } from '../support/http';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase } from '../support/database';
import { DCAP_FIXTURE_DIR, FIXTURE_EXPECTED as FIXTURE, FIXTURE_NOW, loadFixtureQuote } from '../vectors/dcap-fixture';
import { insertMeasurementSet } from '../support/measurements';
import { createForge, Forge, pckChainWithEmptyValidity } from '../support/forge';

const fixtureQuote = () => Buffer.from(loadFixtureQuote());

const collateralDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-collateral-'));
const db = testDatabase('quote_tools');
const clock = new ManualClock(FIXTURE_NOW);
let app: TestApp;
const quote = fixtureQuote().toString('base64');

type VerifyBody = {
  dcap_verified: boolean;
  error_code: string | null;
  tcb_status: string | null;
  advisory_ids: string[];
  debug: boolean;
  fmspc: string;
  collateral: { origin: string; stale: boolean } | null;
  measurements: { boot: { matched: boolean; version: string | null; differences?: { register: string }[] }; runtime: { matched: boolean } };
  boot_acceptable: boolean;
};

beforeAll(async () => {
  // The bundle's file name does not matter: it is indexed by the FMSPC inside it.
  fs.copyFileSync(path.join(DCAP_FIXTURE_DIR, 'tdx_quote_collateral.json'), path.join(collateralDir, 'whatever-name.json'));
  fs.writeFileSync(path.join(collateralDir, 'broken.json'), '{"not": "a bundle"}');
  app = await startTestApp({ database: db.target, clock, env: { COLLATERAL_DIR: collateralDir } });
});

afterAll(async () => {
  await app?.close();
  await db.drop();
  fs.rmSync(collateralDir, { recursive: true, force: true });
});

async function verify(body: unknown = { quote }) {
  return httpRequest<VerifyBody>(`${app.baseUrl}/attestation/quote/verify`, { body });
}

describe('POST /attestation/quote/parse', () => {
  it('returns the fixture fields, lowercase hex, with its 70 trailing padding bytes', async () => {
    const res = await httpRequest<Record<string, unknown>>(`${app.baseUrl}/attestation/quote/parse`, { body: { quote } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      mrtd: FIXTURE.mrtd,
      rtmr0: FIXTURE.rtmr0,
      rtmr1: FIXTURE.rtmr1,
      rtmr2: FIXTURE.rtmr2,
      rtmr3: '00'.repeat(48),
      report_data: FIXTURE.reportData,
      td_attributes: '0000001000000000',
      tee_tcb_svn: '06010300000000000000000000000000',
      fmspc: 'b0c06f000000',
      debug: false,
      trailing_bytes: 70,
      quote_size: 5006,
      header: expect.objectContaining({ version: 4, tee_type: '0x00000081' }),
    });
  });

  it.each([
    ['not base64', { quote: '***' }, 400, 'QUOTE_MALFORMED'],
    ['truncated quote', { quote: fixtureQuote().subarray(0, 700).toString('base64') }, 400, 'QUOTE_MALFORMED'],
    ['random bytes', { quote: Buffer.from('hello quote').toString('base64') }, 400, 'QUOTE_UNSUPPORTED'],
    ['missing quote', {}, 422, 'VALIDATION_FAILED'],
    ['quote not a string', { quote: 5 }, 422, 'VALIDATION_FAILED'],
    ['an unknown field (ignored: newer clients add fields)', { quote, extra: true }, 200, undefined],
  ])('%s → %s %s', async (_name, body, status, code) => {
    const res = await httpRequest<{ code: string }>(`${app.baseUrl}/attestation/quote/parse`, { body });
    expect([res.status, res.json.code]).toEqual([status, code]);
  });

  it('refuses a non-TDX TEE type as 400 QUOTE_UNSUPPORTED', async () => {
    const sgx = fixtureQuote();
    sgx.writeUInt32LE(0x00, 4);
    const res = await httpRequest<{ code: string }>(`${app.baseUrl}/attestation/quote/parse`, { body: { quote: sgx.toString('base64') } });
    expect([res.status, res.json.code]).toEqual([400, 'QUOTE_UNSUPPORTED']);
  });
});

describe('POST /attestation/quote/verify', () => {
  it('verifies the real fixture as UpToDate with no advisories, and says no set matches yet', async () => {
    const res = await verify();
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      dcap_verified: true,
      tcb_status: 'UpToDate',
      advisory_ids: [],
      debug: false,
      fmspc: 'b0c06f000000',
      boot_acceptable: false,
    });
    expect(res.json.collateral).toMatchObject({ origin: 'directory', stale: false });
    expect(res.json.measurements.boot).toEqual({ matched: false, name: null, version: null, differences: [] });
  });

  it('names the matching set, and per register what differs from the nearest one', async () => {
    await insertMeasurementSet(app, {
      name: 'fixture-image',
      version: '2025.07.1',
      mrtd: FIXTURE.mrtd.toUpperCase(),
      boot_rtmrs: { rtmr0: FIXTURE.rtmr0, rtmr1: FIXTURE.rtmr1, rtmr2: FIXTURE.rtmr2 },
      runtime_rtmrs: { rtmr0: FIXTURE.rtmr0, rtmr1: FIXTURE.rtmr1, rtmr2: 'ff'.repeat(48), rtmr3: '00'.repeat(48) },
    });
    const res = await verify();
    expect(res.json.measurements.boot).toEqual({ matched: true, name: 'fixture-image', version: '2025.07.1' });
    expect(res.json.measurements.runtime).toMatchObject({
      matched: false,
      version: '2025.07.1',
      differences: [{ register: 'rtmr2', expected: 'ff'.repeat(48), actual: FIXTURE.rtmr2, match: false }],
    });
    expect(res.json.boot_acceptable).toBe(true);
  });

  it('reports a tampered quote as not DCAP-verified with the failing step', async () => {
    const tampered = fixtureQuote();
    tampered[48 + 200] ^= 0x01; // inside the signed TD report
    const res = await verify({ quote: tampered.toString('base64') });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ dcap_verified: false, error_code: 'QUOTE_SIGNATURE_INVALID', boot_acceptable: false });
  });

  it('serves collateral within the stale grace and answers 503 beyond it', async () => {
    clock.set(new Date('2025-07-20T00:00:00Z')); // past nextUpdate (2025-07-19T10:16:03Z), inside 24 h grace
    const stale = await verify();
    expect(stale.json).toMatchObject({ dcap_verified: true, collateral: { origin: 'directory', stale: true } });
    clock.set(new Date('2025-07-21T00:00:00Z'));
    const gone = await verify();
    expect([gone.status, (gone.json as unknown as { code: string }).code]).toEqual([503, 'COLLATERAL_UNAVAILABLE']);
    clock.set(FIXTURE_NOW);
  });
});

describe('POST /attestation/quote/verify on a forged platform the broker trusts', () => {
  const forgeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-forge-'));
  const forgeDb = testDatabase('quote_tools_forge');
  let forge: Forge;
  let forgeApp: TestApp;

  beforeAll(async () => {
    forge = await createForge({ now: FIXTURE_NOW });
    fs.mkdirSync(path.join(forgeDir, 'collateral'));
    forge.writeCollateral(path.join(forgeDir, 'collateral'));
    fs.writeFileSync(path.join(forgeDir, 'root-ca.pem'), forge.rootCaPem);
    forgeApp = await startTestApp({
      database: forgeDb.target,
      clock: new ManualClock(FIXTURE_NOW),
      env: { COLLATERAL_DIR: path.join(forgeDir, 'collateral'), DCAP_ROOT_CA_FILE: path.join(forgeDir, 'root-ca.pem') },
    });
  });

  afterAll(async () => {
    await forgeApp?.close();
    await forgeDb.drop();
    fs.rmSync(forgeDir, { recursive: true, force: true });
  });

  const verifyForged = (raw: Buffer) => httpRequest<VerifyBody>(`${forgeApp.baseUrl}/attestation/quote/verify`, { body: { quote: raw.toString('base64') } });

  it('verifies a well-formed forged quote', async () => {
    const res = await verifyForged(forge.quote());
    expect([res.status, res.json.dcap_verified, res.json.tcb_status]).toEqual([200, true, 'UpToDate']);
  });

  it.each(['pckLeaf', 'pckCa'] as const)('refuses a %s whose validity SEQUENCE is empty as PCK_CHAIN_INVALID, not a 500', async (which) => {
    const res = await verifyForged(forge.quote({ pckCertChainPem: pckChainWithEmptyValidity(forge.pki, which) }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ dcap_verified: false, error_code: 'PCK_CHAIN_INVALID', boot_acceptable: false });
  });
});
