/**
 * The forge is only useful if a correct DCAP verifier accepts what it makes and rejects what it
 * breaks on purpose. The verifier here is @phala/dcap-qvl pinned to the test root CA.
 */
import { DCAP_FIXTURE_DIR } from '../../vectors/dcap-fixture';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verify as verifySignature, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { QuoteVerifier, VerifiedReport } from '@phala/dcap-qvl';
import {
  CollateralOptions,
  createCollateral,
  createForge,
  createTestPki,
  Forge,
  ForgeQuoteOptions,
  QuoteCollateralV3,
  reportDataOffset,
  SGX_OID,
  sgxExtensionLayout,
  tdx,
  TestPki,
  toPcsResponseBodies,
  writeCollateralFile,
} from './index';
import { main as quoteCommand, USAGE } from './quote-cmd';

const FIXTURES = DCAP_FIXTURE_DIR;
const NOW = new Date('2025-07-01T00:00:00Z');
const SEED = 'forge.spec';
const DAY_S = 24 * 60 * 60;

const hex = (byte: number, size: number): string => Buffer.alloc(size, byte).toString('hex');
const MEASUREMENTS = {
  mrtd: hex(0x11, 48),
  rtmrs: { rtmr0: hex(0x20, 48), rtmr1: hex(0x21, 48), rtmr2: hex(0x22, 48), rtmr3: hex(0x23, 48) },
  reportData: Buffer.concat([Buffer.alloc(32, 0xaa), Buffer.alloc(32, 0xbb)]),
};

let forge: Forge;

beforeAll(async () => {
  forge = await createForge({ now: NOW, pki: { seed: SEED } });
});

function verify(quote: Buffer, collateral: QuoteCollateralV3 = forge.collateral, nowSecs = forge.nowSecs, rootDer = forge.rootCaDer): VerifiedReport {
  return QuoteVerifier.newWithRootCa(rootDer).verify(quote, collateral, nowSecs);
}

/** The verifier's error message, or "accepted": a failing assertion then shows what happened. */
function outcome(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

describe('forged quotes are accepted by dcap-qvl with the test root', () => {
  const cases: Array<[string, ForgeQuoteOptions, 'td10' | 'td15']> = [
    ['v4 / TD report 1.0', { version: 4 }, 'td10'],
    ['v5 / body type 2 (TD report 1.0)', { version: 5, tdReport: '1.0' }, 'td10'],
    ['v5 / body type 3 (TD report 1.5)', { version: 5, tdReport: '1.5' }, 'td15'],
    ['v4 with 70 trailing padding bytes', { version: 4, trailingBytes: 70 }, 'td10'],
  ];

  test.each(cases)('%s', (_name, options, reportType) => {
    const report = verify(forge.quote({ ...MEASUREMENTS, ...options }));
    expect({ status: report.status, advisories: report.advisory_ids, type: report.report.type }).toEqual({
      status: 'UpToDate',
      advisories: [],
      type: reportType,
    });
    const td = report.report.asTd10()!;
    expect(Buffer.from(td.mrTd).toString('hex')).toBe(MEASUREMENTS.mrtd);
    expect([td.rtMr0, td.rtMr1, td.rtMr2, td.rtMr3].map((r) => Buffer.from(r).toString('hex'))).toEqual(Object.values(MEASUREMENTS.rtmrs));
    expect(Buffer.from(td.reportData)).toEqual(MEASUREMENTS.reportData);
    // Not asserted: report.ppid. dcap-qvl 0.3.9 JS returns it empty even for real Intel PCK
    // certificates (its SGX-type ENUMERATED decoding fails and the error is swallowed).
  });
});

describe('the collateral reports the chosen TCB status', () => {
  const cases: Array<[string, CollateralOptions, string, string[]]> = [
    ['UpToDate', { tcbStatus: 'UpToDate' }, 'UpToDate', []],
    [
      'OutOfDate with advisories',
      { tcbStatus: 'OutOfDate', advisoryIds: ['INTEL-SA-00837', 'INTEL-SA-00960'] },
      'OutOfDate',
      ['INTEL-SA-00837', 'INTEL-SA-00960'],
    ],
    ['SWHardeningNeeded with advisories', { tcbStatus: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'] }, 'SWHardeningNeeded', ['INTEL-SA-00615']],
    ['ConfigurationNeeded', { tcbStatus: 'ConfigurationNeeded' }, 'ConfigurationNeeded', []],
    ['QE identity OutOfDate (merged, worse wins)', { qeTcbStatus: 'OutOfDate', qeAdvisoryIds: ['INTEL-SA-00999'] }, 'OutOfDate', ['INTEL-SA-00999']],
  ];

  test.each(cases)('%s', async (_name, options, status, advisories) => {
    const report = verify(forge.quote(), await forge.collateralWith(options));
    expect({ status: report.status, advisories: report.advisory_ids }).toEqual({ status, advisories });
  });
});

describe('dcap-qvl rejects deliberately broken quotes and collateral', () => {
  let expiredLeafPki: TestPki;
  let otherPki: TestPki;

  beforeAll(async () => {
    expiredLeafPki = await createTestPki({
      seed: `${SEED}/expired-leaf`,
      pckLeafValidity: { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2025-01-01T00:00:00Z') },
    });
    otherPki = await createTestPki({ seed: `${SEED}/other` });
  });

  interface RejectionCase {
    quote?: ForgeQuoteOptions;
    collateral?: CollateralOptions | ((pki: TestPki) => CollateralOptions);
    /** Seconds relative to the forge's now. */
    shiftSecs?: number;
    /** Build quote and collateral from another PKI (the verifier trusts that PKI's root)... */
    pki?: () => TestPki;
    /** ...unless the verifier is to trust the main forge's root instead. */
    trustForgeRoot?: boolean;
    error: RegExp;
  }

  const cases: Record<string, RejectionCase> = {
    'bad quote signature': { quote: { tamper: { quoteSignature: true } }, error: /ISV enclave report signature is invalid/ },
    'body changed after signing': { quote: { tamper: { bodyAfterSigning: true } }, error: /ISV enclave report signature is invalid/ },
    'bad QE report signature': { quote: { tamper: { qeReportSignature: true } }, error: /Signature is invalid for qe_report/ },
    'QE report data not binding the attestation key': { quote: { tamper: { qeReportData: true } }, error: /QE report hash mismatch/ },
    "QE MRSIGNER not the identity's": { quote: { qeReport: { mrSigner: hex(0x01, 32) } }, error: /QE MRSIGNER mismatch/ },
    "QE ISVSVN below the identity's levels": { quote: { qeReport: { isvSvn: 1 } }, error: /QE ISVSVN 1 is below minimum/ },
    'attestation key type not ECDSA P-256': { quote: { header: { attestationKeyType: 3 } }, error: /Unsupported DCAP attestation key type/ },
    'debug TD (dcap-qvl refuses it itself)': { quote: { debug: true }, error: /Debug mode is enabled/ },
    'PCK leaf revoked (revokePckLeaf)': { collateral: { revokePckLeaf: true }, error: /Certificate is revoked/ },
    'PCK leaf serial listed in the PCK CRL': { collateral: (pki) => ({ revokedPckSerials: ['01', pki.pckLeaf.serial] }), error: /Certificate is revoked/ },
    'TCB level Revoked': { collateral: { tcbStatus: 'Revoked' }, error: /TCB status is invalid: Revoked/ },
    'TCB info signature broken': { collateral: { tamper: { tcbInfoSignature: true } }, error: /Signature is invalid for tcb_info/ },
    'QE identity signature broken': { collateral: { tamper: { qeIdentitySignature: true } }, error: /Signature is invalid for qe_identity/ },
    'collateral for another FMSPC': { collateral: { fmspc: '00906ED50000' }, error: /Fmspc mismatch/ },
    'before the collateral issue date': { shiftSecs: -2 * DAY_S, error: /TCBInfo issue date is in the future/ },
    'after the collateral nextUpdate': { shiftSecs: 30 * DAY_S, error: /TCBInfo expired/ },
    'PCK leaf certificate expired': { pki: () => expiredLeafPki, error: /Certificate is expired or not yet valid/ },
    'chain to an untrusted root': { pki: () => otherPki, trustForgeRoot: true, error: /signature invalid/ },
  };

  test.each(Object.entries(cases))('%s', async (_name, rejection) => {
    const pki = rejection.pki?.() ?? forge.pki;
    const collateralOptions = typeof rejection.collateral === 'function' ? rejection.collateral(pki) : rejection.collateral;
    const collateral = await createCollateral(pki, { now: forge.now, ...collateralOptions });
    const quote = (await createForge({ now: forge.now, pki })).quote(rejection.quote);
    const nowSecs = forge.nowSecs + (rejection.shiftSecs ?? 0);
    const trustedRoot = rejection.trustForgeRoot ? forge.rootCaDer : pki.root.der;
    expect(outcome(() => verify(quote, collateral, nowSecs, trustedRoot))).toMatch(rejection.error);
  });

  test('the unbroken baseline of the table is accepted', () => {
    expect(outcome(() => verify(forge.quote()))).toBe('accepted');
  });
});

describe('quote layout', () => {
  test('v4: 48-byte header, REPORTDATA is the last 64 bytes of the 584-byte TD report 1.0', () => {
    const quote = forge.quote({ reportData: MEASUREMENTS.reportData });
    expect(reportDataOffset(4)).toBe(tdx.HEADER.SIZE + tdx.TD_REPORT_10.SIZE - 64);
    expect(quote.subarray(568, 632)).toEqual(MEASUREMENTS.reportData);
    expect(quote.readUInt16LE(0)).toBe(4);
    expect(quote.readUInt32LE(tdx.HEADER.TEE_TYPE.offset)).toBe(tdx.TEE_TYPE_TDX);
  });

  test('v5: body descriptor (type, size) precedes the body', () => {
    const quote = forge.quote({ version: 5, tdReport: '1.5', reportData: MEASUREMENTS.reportData });
    expect([quote.readUInt16LE(48), quote.readUInt32LE(50)]).toEqual([tdx.BODY_TYPE_TD_REPORT_15, tdx.TD_REPORT_15.SIZE]);
    expect(quote.subarray(reportDataOffset(5), reportDataOffset(5) + 64)).toEqual(MEASUREMENTS.reportData);
  });

  test('trailing padding is outside the declared auth data', () => {
    const padded = forge.quote({ trailingBytes: 70 });
    const declaredEnd = 48 + 584 + 4 + padded.readUInt32LE(48 + 584);
    expect(padded.length - declaredEnd).toBe(70);
  });

  test('fields are checked at the boundary, naming the field', () => {
    expect(outcome(() => forge.quote({ mrtd: 'abcd' }))).toBe('mrtd: expected 48 bytes, got 2');
    expect(outcome(() => forge.quote({ version: 4, tdReport: '1.5' }))).toMatch(/v4 quote carries a TD report 1.0/);
  });
});

describe('test PKI', () => {
  test('the PCK leaf SGX extension has the layout of a real Intel PCK certificate', () => {
    const realQuote = readFileSync(join(FIXTURES, 'tdx_quote'));
    const realLeafPem = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(realQuote.toString('latin1'))![0];
    const layoutOf = (cert: x509.X509Certificate): string[] => sgxExtensionLayout(Buffer.from(cert.getExtension(SGX_OID.EXTENSION)!.value));
    expect(layoutOf(forge.pki.pckLeaf.cert)).toEqual(layoutOf(new x509.X509Certificate(realLeafPem)));
  });

  test('a seed reproduces keys, serials and platform ids in a fresh generation', async () => {
    const again = await createTestPki({ seed: SEED, cache: false });
    expect(again.root.cert.publicKey.rawData).toEqual(forge.pki.root.cert.publicKey.rawData);
    expect(again.pckLeaf.serial).toBe(forge.pki.pckLeaf.serial);
    expect(again.platform).toEqual(forge.pki.platform);
  });

  test('the same options return the cached PKI', async () => {
    expect(await createTestPki({ seed: SEED })).toBe(forge.pki);
  });
});

describe('collateral bundle', () => {
  const fixture = JSON.parse(readFileSync(join(FIXTURES, 'tdx_quote_collateral.json'), 'utf8')) as QuoteCollateralV3;

  test('has the QuoteCollateralV3 shape of the real fixture, key for key', () => {
    const keysOf = (value: unknown): string[] => Object.keys(value as object);
    expect(keysOf(forge.collateral)).toEqual(keysOf(fixture));
    expect(keysOf(JSON.parse(forge.collateral.tcb_info))).toEqual(keysOf(JSON.parse(fixture.tcb_info)));
    expect(keysOf(JSON.parse(forge.collateral.qe_identity))).toEqual(keysOf(JSON.parse(fixture.qe_identity)));
    const firstLevel = (body: string) => (JSON.parse(body) as { tcbLevels: Array<{ tcb: object }> }).tcbLevels[0];
    expect(keysOf(firstLevel(forge.collateral.tcb_info).tcb)).toEqual(keysOf(firstLevel(fixture.tcb_info).tcb));
  });

  test('signatures are raw r||s over the exact tcb_info / qe_identity bytes', () => {
    const signer = new NodeX509(forge.pki.tcbSigning.pem).publicKey;
    for (const [body, signature] of [
      [forge.collateral.tcb_info, forge.collateral.tcb_info_signature],
      [forge.collateral.qe_identity, forge.collateral.qe_identity_signature],
    ]) {
      const ok = verifySignature('sha256', Buffer.from(body), { key: signer, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'hex'));
      expect({ body: body.slice(0, 30), ok }).toEqual({ body: body.slice(0, 30), ok: true });
    }
  });

  test('PCS response bodies wrap the signed bytes unchanged', () => {
    const bodies = toPcsResponseBodies(forge.collateral);
    expect(JSON.stringify((JSON.parse(bodies.tcbInfo) as { tcbInfo: unknown }).tcbInfo)).toBe(forge.collateral.tcb_info);
    expect((JSON.parse(bodies.qeIdentity) as { signature: unknown }).signature).toBe(forge.collateral.qe_identity_signature);
  });

  test('writeCollateralFile writes <fmspc>.json that reads back equal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-collateral-'));
    try {
      const path = writeCollateralFile(dir, forge.collateral);
      expect(path).toBe(join(dir, `${forge.fmspc.toLowerCase()}.json`));
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(forge.collateral);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('quote command', () => {
  let stateDir: string;
  const run = async (argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const status = await quoteCommand(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, {});
    return { status, stdout, stderr };
  };
  const stateCollateral = () => JSON.parse(readFileSync(join(stateDir, 'collateral', 'forged.json'), 'utf8')) as QuoteCollateralV3;
  const verifyWithState = (quote: Buffer) => verify(quote, stateCollateral(), Math.floor(Date.now() / 1000), readFileSync(join(stateDir, 'root-ca.der')));

  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'forge-state-'));
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  test('--out: report data at offset 568, verifies with the exported root and collateral', async () => {
    const out = join(stateDir, 'quote.bin');
    const reportData = MEASUREMENTS.reportData.toString('hex');
    const result = await run([
      '--report-data',
      reportData,
      '--state-dir',
      stateDir,
      '--out',
      out,
      '--mrtd',
      MEASUREMENTS.mrtd,
      '--rtmr1',
      MEASUREMENTS.rtmrs.rtmr1,
    ]);
    expect(result).toEqual({ status: 0, stdout: '', stderr: '' });
    const quote = readFileSync(out);
    expect(quote.subarray(568, 632).toString('hex')).toBe(reportData);
    const td = verifyWithState(quote).report.asTd10()!;
    expect(Buffer.from(td.mrTd).toString('hex')).toBe(MEASUREMENTS.mrtd);
    expect(Buffer.from(td.rtMr1).toString('hex')).toBe(MEASUREMENTS.rtmrs.rtmr1);
  });

  test('stdout base64, short report data zero-padded, same PKI across invocations', async () => {
    const rootBefore = readFileSync(join(stateDir, 'root-ca.pem'), 'utf8');
    const result = await run(['--report-data', 'abcd', '--state-dir', stateDir]);
    expect(result.status).toBe(0);
    const quote = Buffer.from(result.stdout.trim(), 'base64');
    expect(quote.subarray(568, 632)).toEqual(Buffer.concat([Buffer.from('abcd', 'hex'), Buffer.alloc(62)]));
    expect(verifyWithState(quote).status).toBe('UpToDate');
    expect(readFileSync(join(stateDir, 'root-ca.pem'), 'utf8')).toBe(rootBefore);
  });

  test('--tcb-status rewrites the state collateral', async () => {
    const result = await run(['--report-data', '00', '--state-dir', stateDir, '--tcb-status', 'OutOfDate', '--advisory', 'INTEL-SA-00837']);
    const report = verifyWithState(Buffer.from(result.stdout.trim(), 'base64'));
    expect({ status: report.status, advisories: report.advisory_ids }).toEqual({ status: 'OutOfDate', advisories: ['INTEL-SA-00837'] });
  });

  test('--print-env names the root CA file and the collateral dir', async () => {
    const result = await run(['--print-env', '--state-dir', stateDir]);
    expect(result.stdout).toBe(`DCAP_ROOT_CA_FILE=${join(stateDir, 'root-ca.pem')}\nCOLLATERAL_DIR=${join(stateDir, 'collateral')}\n`);
  });

  test.each([
    ['missing --report-data', ['--state-dir', '/nonexistent/never-created'], /--report-data is required/],
    ['report data over 64 bytes', ['--report-data', hex(1, 65)], /at most 64 bytes/],
    ['unknown option', ['--report-data', '00', '--frobnicate'], /Unknown option/],
    ['bad --tcb-status', ['--report-data', '00', '--tcb-status', 'Fine'], /--tcb-status must be one of/],
  ])('usage error: %s → exit 2', async (_name, argv, message) => {
    const result = await run(argv);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 2, stderr: expect.stringMatching(message) });
  });

  test('--help prints the usage', async () => {
    expect(await run(['--help'])).toEqual({ status: 0, stdout: USAGE, stderr: '' });
  });

  test('runs as a real process via forge-quote.cjs with FORGE_STATE_DIR', () => {
    const child = spawnSync(process.execPath, [join(__dirname, 'forge-quote.cjs'), '--report-data', 'ff'], {
      env: { ...process.env, FORGE_STATE_DIR: stateDir },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: '' });
    const quote = Buffer.from(child.stdout.trim(), 'base64');
    expect(quote[568]).toBe(0xff);
    expect(verifyWithState(quote).status).toBe('OutOfDate'); // the collateral rewritten above
  });
});
