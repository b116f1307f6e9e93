/**
 * Issue 12, items 2 and 4, against two fake PCCSes (A first, B second): a PCCS answer is verified
 * before it is cached, a bad or rolled-back answer makes the broker ask the next PCCS and keep
 * its cached bundle, a defect of the collateral is a 503 the VM retries (never a final 403), an
 * unauthenticated quote costs no upstream request, and failed lookups are remembered for
 * COLLATERAL_NEGATIVE_TTL_S.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { ManualClock } from '../../src/common/clock/clock';
import type { QuoteCollateral } from '../../src/attestation/core/dcap';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase } from '../support/database';
import { FakePccs } from '../support/fake-pccs';
import { createForge, Forge, forgeQuote, ForgeQuoteOptions, issueExtraCertificate, pemChain, resignCollateral } from '../support/forge';
import { httpRequest } from '../support/http';

const NOW = new Date('2026-03-01T00:00:00Z');
const HOUR = 3600;
const db = testDatabase('collateral_failover');
const clock = new ManualClock(NOW);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-failover-'));
/** TDX late microcode one below the genuine collateral's UpToDate level: the platform is OutOfDate. */
const OLD_MICROCODE = [6, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/** A second platform (same PCK CA) whose TCB info lacks its level, and a third nobody knows. */
const FMSPC_NO_LEVEL = 'F0C0DE000002';
const FMSPC_UNKNOWN = 'F0C0DE000003';

let forge: Forge;
let a: FakePccs;
let b: FakePccs;
let app: TestApp;
let genuine18: QuoteCollateral;
let quoteOnOtherPlatform: (fmspc: string, options?: ForgeQuoteOptions) => Promise<Buffer>;

type VerifyBody = {
  dcap_verified: boolean;
  tcb_status: string | null;
  error_code: string | null;
  collateral: { origin: string; stale: boolean } | null;
  code?: string;
};

beforeAll(async () => {
  forge = await createForge({ now: NOW });
  genuine18 = await forge.collateralWith({ tcbEvaluationDataNumber: 18 });
  a = await new FakePccs(genuine18).start();
  b = await new FakePccs(genuine18).start();
  fs.writeFileSync(path.join(tmp, 'root.pem'), forge.rootCaPem);
  quoteOnOtherPlatform = async (fmspc, options = {}) => {
    const leaf = await issueExtraCertificate(forge.pki, { issuer: 'pckCa', commonName: 'Intel SGX PCK Certificate', sgxExtension: true, platform: { fmspc } });
    return forgeQuote({ ...forge.pki, pckLeaf: leaf, pckCertChainPem: pemChain([leaf, forge.pki.pckCa, forge.pki.root]) }, options);
  };
  app = await startTestApp({
    database: db.target,
    clock,
    env: { PCCS_URL: `${a.url},${b.url}`, DCAP_ROOT_CA_FILE: path.join(tmp, 'root.pem'), COLLATERAL_STALE_GRACE_S: String(24 * HOUR) },
  });
});

afterAll(async () => {
  await app?.close();
  await a?.stop();
  await b?.stop();
  await db.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function verify(quote: Buffer) {
  const res = await httpRequest<VerifyBody>(`${app.baseUrl}/attestation/quote/verify`, { body: { quote: quote.toString('base64') } });
  return { status: res.status, ...res.json };
}

function resetRequests(): void {
  a.requests.length = 0;
  b.requests.length = 0;
}

async function cachedRows(): Promise<{ fmspc: string; tcb_evaluation_data_number: string | number }[]> {
  return app.app.get(DataSource).query(`SELECT fmspc, tcb_evaluation_data_number FROM collateral_cache ORDER BY fmspc`);
}

/** Collateral whose TCB info rates the OLD_MICROCODE platform UpToDate (as it was before a TCB recovery). */
async function flattering(tcbEvaluationDataNumber: number): Promise<QuoteCollateral> {
  return forge.collateralWith({
    tcbEvaluationDataNumber,
    teeTcbSvn: OLD_MICROCODE,
    issueDate: new Date(NOW.getTime() - 40 * 86400_000),
    nextUpdate: new Date(NOW.getTime() + 20 * 86400_000),
  });
}

describe('two PCCSes, one misbehaving', () => {
  it('answers 503 COLLATERAL_UNAVAILABLE (not 403) when every answer is defective, and caches none of them', async () => {
    a.collateral = await forge.collateralWith({ tcbEvaluationDataNumber: 18, tamper: { tcbInfoSignature: true } });
    b.collateral = resignCollateral(genuine18, { key: forge.pki.pckLeaf.key, chainPem: forge.pki.pckCertChainPem });
    resetRequests();
    const res = await verify(forge.quote());
    expect([res.status, res.code]).toEqual([503, 'COLLATERAL_UNAVAILABLE']);
    expect(a.requests.length).toBeGreaterThan(0);
    expect(b.requests.length).toBeGreaterThan(0);
    expect(await cachedRows()).toEqual([]);
    clock.advance(301); // past COLLATERAL_NEGATIVE_TTL_S
  });

  it('refuses a PCK-signed first answer, asks the next PCCS, and caches only the verified bundle', async () => {
    a.collateral = resignCollateral(await flattering(99), { key: forge.pki.pckLeaf.key, chainPem: forge.pki.pckCertChainPem });
    b.collateral = genuine18;
    resetRequests();
    const res = await verify(forge.quote({ teeTcbSvn: Buffer.from(OLD_MICROCODE) }));
    expect(res).toMatchObject({ status: 200, dcap_verified: true, tcb_status: 'OutOfDate', collateral: { origin: 'pccs', stale: false } });
    expect(a.requests.length).toBeGreaterThan(0);
    expect(b.requests.length).toBeGreaterThan(0);
    expect((await cachedRows()).map((row) => Number(row.tcb_evaluation_data_number))).toEqual([18]);
  });

  it('never rolls the cache back to an older genuine bundle, and keeps serving the cached one', async () => {
    clock.advance(2 * HOUR); // past the hourly refresh: the PCCSes are asked again
    a.collateral = await flattering(17);
    b.mode = 'error500';
    resetRequests();
    const res = await verify(forge.quote({ teeTcbSvn: Buffer.from(OLD_MICROCODE) }));
    expect(res).toMatchObject({ status: 200, dcap_verified: true, tcb_status: 'OutOfDate', collateral: { origin: 'cache' } });
    expect(a.requests.length).toBeGreaterThan(0);
    expect(b.requests.length).toBeGreaterThan(0);
    expect((await cachedRows()).map((row) => Number(row.tcb_evaluation_data_number))).toEqual([18]);
  });

  it('takes the next PCCS answer when the first is a rollback, and a same-number reissue as a refresh', async () => {
    clock.advance(2 * HOUR);
    b.mode = 'ok';
    b.collateral = await forge.collateralWith({ tcbEvaluationDataNumber: 18, issueDate: new Date(clock.now().getTime() - 60_000) });
    resetRequests();
    const res = await verify(forge.quote());
    expect(res).toMatchObject({ status: 200, dcap_verified: true, tcb_status: 'UpToDate', collateral: { origin: 'pccs' } });
    expect(b.requests.length).toBeGreaterThan(0);
    const rows: { tcb_issue_date: Date }[] = await app.app.get(DataSource).query(`SELECT tcb_issue_date FROM collateral_cache`);
    expect(new Date(rows[0].tcb_issue_date).getTime()).toBe(Math.floor((clock.now().getTime() - 60_000) / 1000) * 1000);
  });
});

describe('what a lookup costs upstream', () => {
  it('an unauthenticated quote (PCK chain under another root) makes no upstream request', async () => {
    const stranger = await createForge({ now: NOW, pki: { seed: 'stranger', fmspc: 'F0C0DE0000AA' } });
    resetRequests();
    const res = await verify(stranger.quote());
    expect(res).toMatchObject({ status: 200, dcap_verified: false, error_code: 'PCK_CHAIN_INVALID' });
    expect([...a.requests, ...b.requests]).toEqual([]);
  });

  it('remembers a failed (FMSPC, CA) lookup for COLLATERAL_NEGATIVE_TTL_S', async () => {
    const quote = await quoteOnOtherPlatform(FMSPC_UNKNOWN);
    resetRequests();
    const first = await verify(quote);
    expect([first.status, first.code]).toEqual([503, 'COLLATERAL_UNAVAILABLE']);
    const firstCost = a.requests.length + b.requests.length;
    expect(firstCost).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      const again = await verify(quote);
      expect([again.status, again.code]).toEqual([503, 'COLLATERAL_UNAVAILABLE']);
    }
    expect(a.requests.length + b.requests.length).toBe(firstCost);
    clock.advance(301);
    await verify(quote);
    expect(a.requests.length + b.requests.length).toBe(2 * firstCost);
  });
});

describe('a missing TCB level', () => {
  it('is the collateral’s fault (503) for a platform that never verified here', async () => {
    const above = await forge.collateralWith({
      fmspc: FMSPC_NO_LEVEL,
      tcbEvaluationDataNumber: 18,
      teeTcbSvn: [6, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    });
    // Only the levels at or above microcode 9, and nothing older: this platform's level is absent.
    const tcb = JSON.parse(above.tcb_info) as { tcbLevels: unknown[] };
    const withoutOld = await forge.collateralWith({
      fmspc: FMSPC_NO_LEVEL,
      tcbEvaluationDataNumber: 18,
      tcbLevels: tcb.tcbLevels.slice(0, 1) as never,
    });
    a.others = [withoutOld];
    const res = await verify(await quoteOnOtherPlatform(FMSPC_NO_LEVEL));
    expect([res.status, res.code]).toEqual([503, 'COLLATERAL_UNAVAILABLE']);
  });

  it('is the quote’s fault (TCB_LEVEL_NOT_FOUND) once the platform has verified', async () => {
    // The default platform verified above; a TDX module SVN below every TDX_01 level has no level.
    const res = await verify(forge.quote({ teeTcbSvn: Buffer.from([1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }));
    expect(res).toMatchObject({ status: 200, dcap_verified: false, error_code: 'TCB_LEVEL_NOT_FOUND' });
  });
});
