import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DomainError, ErrorCode } from '../../../common/errors';
import { errorCodeOf } from '../../../../test/support/errors';
import {
  FIXTURE_EXPECTED,
  FIXTURE_NOW,
  FIXTURE_PCK_CRL_NEXT_UPDATE,
  FIXTURE_VALID_FROM,
  FIXTURE_VALID_UNTIL,
  loadFixtureCollateral,
  loadFixtureQuote,
} from '../../../../test/vectors/dcap-fixture';
import { splitPemCertificates, toHex } from '../quote/encoding';
import { parseTdxQuote } from '../quote/tdx-quote.parser';
import { loadTrustAnchor } from './cert-chain';
import { QuoteCollateral } from './collateral.types';
import { checkRevocation, verifyCrls } from './crl';
import { INTEL_SGX_ROOT_CA_DER, INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256, loadRootCa } from './root-ca';
import { QuoteVerifier, isDebugTd, verifyQuote } from './quote-verifier';

const rawQuote = loadFixtureQuote();
const collateral = loadFixtureCollateral();
const rootCaDer = INTEL_SGX_ROOT_CA_DER;
const seconds = (date: Date, delta: number) => new Date(date.getTime() + delta * 1000);

const codeOf = errorCodeOf;

function errorOf(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('pinned Intel SGX Root CA', () => {
  it('has Intel’s published SHA-256 fingerprint', () => {
    expect(createHash('sha256').update(INTEL_SGX_ROOT_CA_DER).digest('hex')).toBe(INTEL_SGX_ROOT_CA_SHA256);
    expect(INTEL_SGX_ROOT_CA_SHA256).toBe('44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3');
  });

  it('is the last certificate of the fixture’s tcb_info_issuer_chain', () => {
    const chain = splitPemCertificates(collateral.tcb_info_issuer_chain);
    expect(toHex(chain[chain.length - 1])).toBe(toHex(INTEL_SGX_ROOT_CA_DER));
  });

  it('loadRootCa accepts PEM text, PEM bytes and DER, and refuses several certificates', () => {
    expect(toHex(loadRootCa(INTEL_SGX_ROOT_CA_PEM))).toBe(toHex(rootCaDer));
    expect(toHex(loadRootCa(Buffer.from(INTEL_SGX_ROOT_CA_PEM)))).toBe(toHex(rootCaDer));
    expect(toHex(loadRootCa(rootCaDer))).toBe(toHex(rootCaDer));
    expect(codeOf(() => loadRootCa(collateral.tcb_info_issuer_chain))).toBe(ErrorCode.PCK_CHAIN_INVALID);
    expect(codeOf(() => loadRootCa(''))).toBe(ErrorCode.PCK_CHAIN_INVALID);
  });
});

describe('verifyQuote on the real Intel sample', () => {
  it('is UpToDate with no advisories at 2025-07-01, fields as in the README', () => {
    const result = verifyQuote(rawQuote, collateral, { now: FIXTURE_NOW, rootCaDer });
    expect(result.tcbStatus).toBe('UpToDate');
    expect(result.advisoryIds).toEqual([]);
    expect(result.fmspc).toBe(FIXTURE_EXPECTED.fmspc);
    expect(result.platformTcbStatus).toBe('UpToDate');
    expect(result.tdxModuleTcbStatus).toBe('UpToDate');
    expect(result.qeTcbStatus).toBe('UpToDate');
    expect(toHex(result.quote.body.mrTd)).toBe(FIXTURE_EXPECTED.mrtd);
    expect(toHex(result.quote.body.rtmr1)).toBe(FIXTURE_EXPECTED.rtmr1);
    expect(toHex(result.quote.body.reportData)).toBe(FIXTURE_EXPECTED.reportData);
    expect(isDebugTd(result.quote)).toBe(false);
    expect(result.collateralNextUpdate.toISOString()).toBe(FIXTURE_PCK_CRL_NEXT_UPDATE.toISOString());
  });

  it.each([
    ['1 s before the QE identity issueDate', seconds(FIXTURE_VALID_FROM, -1), 0, ErrorCode.COLLATERAL_EXPIRED],
    ['at the QE identity issueDate', FIXTURE_VALID_FROM, 0, 'ok'],
    ['1 s before the PCK CRL nextUpdate', seconds(FIXTURE_PCK_CRL_NEXT_UPDATE, -1), 0, 'ok'],
    // The PCK CRL expires 15.5 min before the TCB info: CRL freshness is enforced too.
    ['between PCK CRL and TCB info nextUpdate', seconds(FIXTURE_PCK_CRL_NEXT_UPDATE, 60), 0, ErrorCode.COLLATERAL_EXPIRED],
    ['1 s after the TCB info nextUpdate', seconds(FIXTURE_VALID_UNTIL, 1), 0, ErrorCode.COLLATERAL_EXPIRED],
    ['1 s after, with a 1 h grace', seconds(FIXTURE_VALID_UNTIL, 1), 3600, 'ok'],
    ['1 h + 1 s after, with a 1 h grace', seconds(FIXTURE_VALID_UNTIL, 3601), 3600, ErrorCode.COLLATERAL_EXPIRED],
    ['in March 2025, grace or not', new Date('2025-03-01T00:00:00Z'), 86400 * 365, ErrorCode.COLLATERAL_EXPIRED],
    // Before the PCK leaf's notBefore the chain itself is refused, whatever the collateral.
    ['in 2024, before the PCK certificate', new Date('2024-07-01T00:00:00Z'), 0, ErrorCode.PCK_CHAIN_INVALID],
  ] as const)('%s', (_name, now, staleGraceSeconds, expected) => {
    expect(codeOf(() => verifyQuote(rawQuote, collateral, { now, rootCaDer, staleGraceSeconds }))).toBe(expected);
  });

  it('re-checks time on every call of a warm QuoteVerifier', () => {
    const verifier = new QuoteVerifier(rootCaDer);
    expect(verifier.verify(rawQuote, collateral, FIXTURE_NOW).tcbStatus).toBe('UpToDate');
    expect(codeOf(() => verifier.verify(rawQuote, collateral, seconds(FIXTURE_VALID_UNTIL, 1)))).toBe(ErrorCode.COLLATERAL_EXPIRED);
    expect(codeOf(() => verifier.verify(rawQuote, collateral, seconds(FIXTURE_VALID_FROM, -1)))).toBe(ErrorCode.COLLATERAL_EXPIRED);
    // PCK leaf notAfter is 2032-02-06; root CA CRL nextUpdate is earlier, so lift freshness with grace.
    const farFuture = new Date('2033-01-01T00:00:00Z');
    expect(codeOf(() => verifier.verify(rawQuote, collateral, farFuture, { staleGraceSeconds: 1e10 }))).toBe(ErrorCode.PCK_CHAIN_INVALID);
    expect(verifier.verify(rawQuote, { ...collateral }, FIXTURE_NOW).tcbStatus).toBe('UpToDate');
    expect(verifier.verify(rawQuote, collateral, FIXTURE_NOW, { staleGraceSeconds: 0 }).tcbStatus).toBe('UpToDate');
  });

  it('verifyAuthenticated: the checks of authenticate once, at its time, and only for what this verifier authenticated', () => {
    const verifier = new QuoteVerifier(rootCaDer);
    const quote = parseTdxQuote(rawQuote);
    const authenticated = verifier.authenticate(quote, FIXTURE_NOW);
    expect(authenticated.platform).toEqual(verifier.authenticatedPlatform(quote, FIXTURE_NOW));
    expect(verifier.verifyAuthenticated(authenticated, collateral)).toEqual(verifier.verify(rawQuote, collateral, FIXTURE_NOW));
    // Collateral time is judged at the authentication's `now`, not at the call.
    const late = verifier.authenticate(quote, seconds(FIXTURE_VALID_UNTIL, 1));
    expect(codeOf(() => verifier.verifyAuthenticated(late, collateral))).toBe(ErrorCode.COLLATERAL_EXPIRED);
    // A look-alike object, or another verifier's result, is not taken on trust.
    expect(() => verifier.verifyAuthenticated({ ...authenticated }, collateral)).toThrow(TypeError);
    expect(() => new QuoteVerifier(rootCaDer).verifyAuthenticated(authenticated, collateral)).toThrow(TypeError);
  });

  it('a quote whose QE report is re-signed under a parsed attestation key is still refused when the new signature is bad', () => {
    const verifier = new QuoteVerifier(rootCaDer);
    expect(verifier.verify(rawQuote, collateral, FIXTURE_NOW).tcbStatus).toBe('UpToDate');
    // Same attestation key (its KeyObject is cached), other QE report signature: verified again, refused.
    const quote = parseTdxQuote(rawQuote);
    const tampered = new Uint8Array(rawQuote);
    const at = Buffer.from(rawQuote).indexOf(Buffer.from(quote.signature.qeCertification.qeReportSignature));
    tampered[at] ^= 0x01;
    expect(codeOf(() => verifier.verify(tampered, collateral, FIXTURE_NOW))).toBe(ErrorCode.QE_REPORT_INVALID);
  });

  it('reports the DEBUG bit without refusing it (policy decides)', () => {
    const debug = new Uint8Array(rawQuote);
    debug[48 + 120] |= 0x01; // td_attributes[0]
    expect(isDebugTd(parseTdxQuote(debug))).toBe(true);
    // The bit is signed, so flipping it here breaks the quote signature.
    expect(codeOf(() => verifyQuote(debug, collateral, { now: FIXTURE_NOW, rootCaDer }))).toBe(ErrorCode.QUOTE_SIGNATURE_INVALID);
  });
});

describe('verifyQuote refuses tampered collateral with the right code', () => {
  const flipHexChar = (hex: string, index: number) => hex.slice(0, index) + (hex[index] === '0' ? '1' : '0') + hex.slice(index + 1);
  const cases: [string, (c: QuoteCollateral) => QuoteCollateral, ErrorCode][] = [
    [
      'tcb_info text changed',
      (c) => ({ ...c, tcb_info: c.tcb_info.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18') }),
      ErrorCode.COLLATERAL_INVALID,
    ],
    ['tcb_info whitespace added', (c) => ({ ...c, tcb_info: c.tcb_info + ' ' }), ErrorCode.COLLATERAL_INVALID],
    ['tcb_info_signature flipped', (c) => ({ ...c, tcb_info_signature: flipHexChar(c.tcb_info_signature, 10) }), ErrorCode.COLLATERAL_INVALID],
    ['tcb_info_signature truncated', (c) => ({ ...c, tcb_info_signature: c.tcb_info_signature.slice(2) }), ErrorCode.COLLATERAL_INVALID],
    ['qe_identity text changed', (c) => ({ ...c, qe_identity: c.qe_identity.replace('"isvprodid":2', '"isvprodid":3') }), ErrorCode.COLLATERAL_INVALID],
    ['qe_identity_signature flipped', (c) => ({ ...c, qe_identity_signature: flipHexChar(c.qe_identity_signature, 70) }), ErrorCode.COLLATERAL_INVALID],
    ['tcb_info_issuer_chain is the PCK CRL chain', (c) => ({ ...c, tcb_info_issuer_chain: c.pck_crl_issuer_chain }), ErrorCode.COLLATERAL_INVALID],
    ['qe_identity_issuer_chain is the PCK CRL chain', (c) => ({ ...c, qe_identity_issuer_chain: c.pck_crl_issuer_chain }), ErrorCode.COLLATERAL_INVALID],
    ['tcb_info_issuer_chain empty', (c) => ({ ...c, tcb_info_issuer_chain: '' }), ErrorCode.COLLATERAL_INVALID],
    ['pck_crl_issuer_chain is the TCB signing chain', (c) => ({ ...c, pck_crl_issuer_chain: c.tcb_info_issuer_chain }), ErrorCode.COLLATERAL_INVALID],
    ['CRLs swapped', (c) => ({ ...c, root_ca_crl: c.pck_crl, pck_crl: c.root_ca_crl }), ErrorCode.COLLATERAL_INVALID],
    ['pck_crl signature byte flipped', (c) => ({ ...c, pck_crl: flipHexChar(c.pck_crl, c.pck_crl.length - 10) }), ErrorCode.COLLATERAL_INVALID],
    ['root_ca_crl body byte flipped', (c) => ({ ...c, root_ca_crl: flipHexChar(c.root_ca_crl, 200) }), ErrorCode.COLLATERAL_INVALID],
    ['root_ca_crl not hex', (c) => ({ ...c, root_ca_crl: 'zz' + c.root_ca_crl.slice(2) }), ErrorCode.COLLATERAL_INVALID],
    ['a field missing', (c) => ({ ...c, pck_crl: undefined as unknown as string }), ErrorCode.COLLATERAL_INVALID],
  ];

  it.each(cases)('%s', (_name, tamper, expected) => {
    const verifier = new QuoteVerifier(rootCaDer);
    expect(codeOf(() => verifier.verify(rawQuote, tamper(collateral), FIXTURE_NOW))).toBe(expected);
    // …and a warm verifier holding the genuine collateral is not fooled by the tampered copy.
    expect(verifier.verify(rawQuote, collateral, FIXTURE_NOW).tcbStatus).toBe('UpToDate');
    expect(codeOf(() => verifier.verify(rawQuote, tamper(collateral), FIXTURE_NOW))).toBe(expected);
  });

  it('notices a collateral object mutated in place between calls', () => {
    const verifier = new QuoteVerifier(rootCaDer);
    const mutable = { ...collateral };
    verifier.verify(rawQuote, mutable, FIXTURE_NOW);
    mutable.tcb_info_signature = flipHexChar(mutable.tcb_info_signature, 3);
    expect(codeOf(() => verifier.verify(rawQuote, mutable, FIXTURE_NOW))).toBe(ErrorCode.COLLATERAL_INVALID);
  });
});

describe('trust anchor and revocation', () => {
  it('refuses the Intel chain under a different root', async () => {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(algorithm, false, ['sign', 'verify']);
    const foreign = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
      notBefore: new Date('2018-01-01T00:00:00Z'),
      notAfter: new Date('2049-01-01T00:00:00Z'),
      signingAlgorithm: algorithm,
      keys: keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    const error = errorOf(() => verifyQuote(rawQuote, collateral, { now: FIXTURE_NOW, rootCaDer: new Uint8Array(foreign.rawData) }));
    expect(error.code).toBe(ErrorCode.PCK_CHAIN_INVALID);
    expect(error.message).toContain('pck chain');
  });

  it('refuses a root that is not a self-issued CA', () => {
    const platformCa = splitPemCertificates(collateral.pck_crl_issuer_chain)[0];
    expect(codeOf(() => new QuoteVerifier(platformCa))).toBe(ErrorCode.PCK_CHAIN_INVALID);
  });

  it('CERT_REVOKED when the PCK CRL lists the PCK leaf (or the root CA CRL an intermediate)', () => {
    const anchor = loadTrustAnchor(rootCaDer);
    const crls = verifyCrls(
      { rootCaCrlHex: collateral.root_ca_crl, pckCrlHex: collateral.pck_crl, pckCrlIssuerChainPem: collateral.pck_crl_issuer_chain },
      anchor,
    );
    const verifier = new QuoteVerifier(rootCaDer);
    const chain = (verifier as unknown as { pckChain(q: unknown): { chain: Parameters<typeof checkRevocation>[0] } }).pckChain(parseTdxQuote(rawQuote)).chain;
    expect(() => checkRevocation(chain, anchor, crls, 'pck chain')).not.toThrow();
    for (const index of [0, 1]) {
      const serial = chain.certificates[index].serialHex;
      const crl = index === 0 ? 'pckCrl' : 'rootCaCrl';
      const revoked = { ...crls, [crl]: { ...crls[crl], revokedSerials: new Set([serial]) } };
      const error = errorOf(() => checkRevocation(chain, anchor, revoked, 'pck chain'));
      expect(error.code).toBe(ErrorCode.CERT_REVOKED);
      expect(error.message).toBe(`pck chain: certificate ${index} is revoked`);
    }
  });
});

describe('error messages', () => {
  it('never carry the quote, its keys or signatures', () => {
    const quote = parseTdxQuote(rawQuote);
    const secrets = [
      toHex(quote.signature.attestationKey),
      toHex(quote.signature.ecdsaSignature),
      Buffer.from(rawQuote).toString('base64').slice(0, 40),
      toHex(quote.body.reportData),
    ];
    const mutated = new Uint8Array(rawQuote);
    mutated[700] ^= 1; // attestation key
    const messages = [
      errorOf(() => verifyQuote(mutated, collateral, { now: FIXTURE_NOW, rootCaDer })),
      errorOf(() => verifyQuote(rawQuote, collateral, { now: seconds(FIXTURE_VALID_UNTIL, 1), rootCaDer })),
    ].map((error) => error.message + JSON.stringify(error.detail ?? {}));
    for (const message of messages) for (const secret of secrets) expect(message).not.toContain(secret);
  });
});
