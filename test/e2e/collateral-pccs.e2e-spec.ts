/**
 * Collateral from a PCCS: fetched on the PCS v4 paths, cached in PostgreSQL, refreshed, served
 * stale within the grace when every PCCS fails (500, garbage), and refused beyond it (503).
 * Quotes and collateral come from the forge; the broker trusts the forge's root CA.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { ManualClock } from '../../src/common/clock/clock';
import { httpRequest } from '../support/http';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase } from '../support/database';
import { FakePccs } from '../support/fake-pccs';
import { createForge, Forge } from '../support/forge';

const FORGE_NOW = new Date('2026-03-01T00:00:00Z');
const db = testDatabase('collateral_pccs');
const clock = new ManualClock(FORGE_NOW);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-pccs-'));
let forge: Forge;
let pccs: FakePccs;
let app: TestApp;

type VerifyBody = { dcap_verified: boolean; tcb_status: string; debug: boolean; collateral: { origin: string; stale: boolean }; boot_acceptable: boolean };

beforeAll(async () => {
  forge = await createForge({ now: FORGE_NOW });
  pccs = await new FakePccs(forge.collateral).start();
  fs.writeFileSync(path.join(tmp, 'root.pem'), forge.rootCaPem);
  app = await startTestApp({
    database: db.target,
    clock,
    // The first PCCS is down for good: every fetch falls through to the second.
    env: { PCCS_URL: `http://127.0.0.1:9/sgx/certification/v4,${pccs.url}`, DCAP_ROOT_CA_FILE: path.join(tmp, 'root.pem'), COLLATERAL_STALE_GRACE_S: '3600' },
  });
});

afterAll(async () => {
  await app?.close();
  await pccs?.stop();
  await db.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function verify(quote: Buffer = forge.quote()) {
  return httpRequest<VerifyBody>(`${app.baseUrl}/attestation/quote/verify`, { body: { quote: quote.toString('base64') } });
}

describe('collateral from a PCCS', () => {
  it('fetches on the v4 paths (after the dead first PCCS) and caches in the database', async () => {
    const res = await verify();
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ dcap_verified: true, tcb_status: 'UpToDate', collateral: { origin: 'pccs', stale: false } });
    expect(pccs.requests.map((r) => r.split('?')[0]).sort()).toEqual([
      '/sgx/certification/v4/pckcrl',
      '/sgx/certification/v4/rootcacrl',
      '/tdx/certification/v4/qe/identity',
      '/tdx/certification/v4/tcb',
    ]);
    expect(pccs.requests).toContain(`/tdx/certification/v4/tcb?fmspc=${forge.fmspc.toUpperCase()}`);
    const rows = await app.app.get(DataSource).query<unknown[]>(`SELECT fmspc, ca FROM collateral_cache`);
    expect(rows).toEqual([{ fmspc: forge.fmspc.toLowerCase(), ca: 'platform' }]);
  });

  it('answers from the cache without asking the PCCS again while fresh', async () => {
    pccs.requests.length = 0;
    const res = await verify(forge.quote({ debug: true }));
    expect(res.json).toMatchObject({ dcap_verified: true, debug: true, boot_acceptable: false, collateral: { origin: 'cache' } });
    expect(pccs.requests).toHaveLength(0);
  });

  it.each(['error500', 'garbage'] as const)('keeps serving cached collateral when the PCCS answers %s', async (mode) => {
    clock.advance(2 * 3600); // past the hourly refresh: a fetch is attempted and fails
    pccs.mode = mode;
    pccs.requests.length = 0;
    const res = await verify();
    expect(res.json).toMatchObject({ dcap_verified: true, collateral: { origin: 'cache', stale: false } });
    expect(pccs.requests.length).toBeGreaterThan(0);
    pccs.mode = 'ok';
  });

  it('serves stale collateral within COLLATERAL_STALE_GRACE_S, then 503 COLLATERAL_UNAVAILABLE', async () => {
    pccs.mode = 'error500';
    const nextUpdate = Date.parse((JSON.parse(forge.collateral.tcb_info) as { nextUpdate: string }).nextUpdate);
    clock.set(new Date(nextUpdate + 1800_000));
    const stale = await verify();
    expect(stale.json).toMatchObject({ dcap_verified: true, collateral: { origin: 'cache', stale: true } });
    clock.set(new Date(nextUpdate + 3 * 3600_000));
    const gone = await verify();
    expect(gone.status).toBe(503);
    expect((gone.json as unknown as { code: string }).code).toBe('COLLATERAL_UNAVAILABLE');
    const metrics = await httpRequest(`${app.baseUrl}/metrics`);
    expect(metrics.text).toMatch(/bootkey_collateral_events_total\{source="cache",result="stale"\} [1-9]/);
    expect(metrics.text).toMatch(/bootkey_collateral_events_total\{source="pccs",result="failed"\} [1-9]/);
  });

  it('remembers the failure for COLLATERAL_NEGATIVE_TTL_S, then recovers as soon as a PCCS answers again', async () => {
    pccs.mode = 'ok';
    const renewed = await forge.collateralWith({ now: clock.now() });
    pccs.collateral = renewed;
    pccs.requests.length = 0;
    const remembered = await verify();
    expect([remembered.status, (remembered.json as unknown as { code: string }).code]).toEqual([503, 'COLLATERAL_UNAVAILABLE']);
    expect(pccs.requests).toHaveLength(0);
    clock.advance(301); // default COLLATERAL_NEGATIVE_TTL_S is 300
    const res = await verify();
    expect(res.json).toMatchObject({ dcap_verified: true, collateral: { origin: 'pccs', stale: false } });
  });
});
