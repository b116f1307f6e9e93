/**
 * Issue 12, item 1, end to end over the boot path: collateral in COLLATERAL_DIR re-signed with a
 * platform's own PCK key (rating that OutOfDate platform UpToDate) must not release the root key.
 * The broker refuses the bundle, answers 503 COLLATERAL_UNAVAILABLE (its collateral is defective,
 * the VM may retry) and audits why; with the genuine bundle back the platform is OutOfDate (403).
 */
import { DataSource } from 'typeorm';
import { ManualClock } from '../../src/common/clock/clock';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, ROOT_PASSPHRASE, TestVm } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { resignCollateral, writeCollateralFile } from '../support/forge';
import { DEFAULT_TEE_TCB_SVN } from '../support/forge/forge-defaults';

const db = testDatabase('collateral_trust');
const clock = new ManualClock(BOOT_NOW);
let env: BootEnv;
let app: TestApp;
let vm: TestVm;
/** One TDX late microcode SVN behind the genuine UpToDate level. */
const oldMicrocode = Buffer.from(DEFAULT_TEE_TCB_SVN.map((svn, i) => (i === 2 ? svn - 1 : svn)));

beforeAll(async () => {
  env = await createBootEnv();
  app = await startTestApp({ database: db.target, clock, env: env.env });
  vm = await TestVm.create(app.baseUrl, env.forge, env.minerHotkey);
});

afterAll(async () => {
  await app?.close();
  await db.drop();
  env?.cleanup();
});

type AuditRow = { outcome: string; error_code: string | null; tcb_status: string | null; verdict: Record<string, unknown> };

async function lastAudit(): Promise<AuditRow> {
  const rows: AuditRow[] = await app.app.get(DataSource).query(`SELECT * FROM boot_attestations ORDER BY created_at DESC, id DESC LIMIT 1`);
  return rows[0];
}

describe('COLLATERAL_DIR collateral signed by a PCK key', () => {
  it('releases no root key for an OutOfDate platform (503 COLLATERAL_UNAVAILABLE, audited)', async () => {
    const flattering = await env.forge.collateralWith({ teeTcbSvn: [...oldMicrocode] });
    const forged = resignCollateral(flattering, { key: env.forge.pki.pckLeaf.key, chainPem: env.forge.pki.pckCertChainPem });
    writeCollateralFile(env.env.COLLATERAL_DIR, forged, env.forge.fmspc.toLowerCase());
    clock.advance(1);
    const res = await vm.boot({ teeTcbSvn: oldMicrocode });
    expect(res.json.key).toBeUndefined();
    expect([res.status, res.json.code]).toEqual([503, 'COLLATERAL_UNAVAILABLE']);
    expect(JSON.stringify(res.json)).not.toContain(ROOT_PASSPHRASE);
    const row = await lastAudit();
    expect(row).toMatchObject({ outcome: 'failed', error_code: 'COLLATERAL_UNAVAILABLE', verdict: { dcap: { status: 'COLLATERAL_UNAVAILABLE' } } });
    // …saying why: the directory bundle was refused, its signer not Intel's TCB signing certificate.
    expect(JSON.stringify((row.verdict.dcap as { problems: string[] }).problems)).toMatch(
      /COLLATERAL_DIR bundle refused \(COLLATERAL_INVALID: tcb_info_issuer_chain: has 3 certificates/,
    );
  });

  it('with the genuine bundle back, the same platform is OutOfDate and refused (403)', async () => {
    env.forge.writeCollateral(env.env.COLLATERAL_DIR);
    clock.advance(1); // no PCCS configured: a fixed COLLATERAL_DIR is used at once (no negative cache)
    const res = await vm.boot({ teeTcbSvn: oldMicrocode });
    expect([res.status, res.json.code]).toEqual([403, 'TCB_STATUS_REJECTED']);
    expect(await lastAudit()).toMatchObject({ outcome: 'failed', error_code: 'TCB_STATUS_REJECTED', tcb_status: 'OutOfDate' });
  });
});
