/**
 * CRLs: parseCrl on forged CRLs edited element by element (typed X509Error naming the element,
 * never a TypeError), and verifyCrls turning every defect into COLLATERAL_INVALID for its field.
 */
import { DomainError, ErrorCode } from '../../../common/errors';
import { errorCodeOf } from '../../../../test/support/errors';
import {
  createPckCrl,
  createRootCaCrl,
  createTestPki,
  derChildren,
  derTlv,
  replaceAt,
  resignSigned,
  TBS_CERT_LIST,
  TestPki,
} from '../../../../test/support/forge';
import { derInteger, derSequence } from '../../../../test/support/forge/der';
import { loadTrustAnchor, TrustAnchor } from './cert-chain';
import { checkRevocation, verifyCrls } from './crl';
import { X509Error, X509ErrorCode, parseCrl } from './x509';

const THIS_UPDATE = new Date('2026-02-01T00:00:00Z');
const NEXT_UPDATE = new Date('2026-03-01T00:00:00Z');
const REVOKED = ['0badc0de', '7f00000000000000000000000000000000000001'];

let pki: TestPki;
let anchor: TrustAnchor;
let rootCaCrl: Buffer;
let pckCrl: Buffer;
let pckCrlWithEntries: Buffer;

beforeAll(async () => {
  pki = await createTestPki({ seed: 'crl-spec' });
  anchor = loadTrustAnchor(pki.root.der);
  rootCaCrl = await createRootCaCrl(pki, { thisUpdate: THIS_UPDATE, nextUpdate: NEXT_UPDATE });
  pckCrl = await createPckCrl(pki, { thisUpdate: THIS_UPDATE, nextUpdate: NEXT_UPDATE });
  pckCrlWithEntries = await createPckCrl(pki, { thisUpdate: THIS_UPDATE, nextUpdate: NEXT_UPDATE, revokedSerials: REVOKED });
});

function x509ErrorOf(run: () => unknown): X509Error {
  try {
    run();
  } catch (error) {
    if (error instanceof X509Error) return error;
    throw error;
  }
  throw new Error('expected an X509Error');
}

const SEQUENCE = 0x30;
const empty = (tag: number) => derTlv(tag, Buffer.alloc(0));
const utcTime = (text: string) => derTlv(0x17, Buffer.from(text, 'latin1'));
const pckCrlWith = (edit: (tbs: Buffer[]) => Buffer[], base?: Buffer) => resignSigned(base ?? pckCrlWithEntries, pki.pckCa.key, edit);
/** Position of revokedCertificates in the forged PCK CRL with entries (after nextUpdate). */
const ENTRIES = TBS_CERT_LIST.NEXT_UPDATE + 1;
const withEntries = (edit: (entries: Buffer[]) => Buffer[]) => (tbs: Buffer[]) => replaceAt(tbs, ENTRIES, derSequence(edit(derChildren(tbs[ENTRIES]))));

describe('parseCrl on well-formed CRLs', () => {
  it('reads issuer, update times and the revoked serials', () => {
    const crl = parseCrl(pckCrlWithEntries);
    expect([crl.thisUpdate, crl.nextUpdate]).toEqual([THIS_UPDATE.getTime(), NEXT_UPDATE.getTime()]);
    expect([...crl.revokedSerials].sort()).toEqual([...REVOKED].sort());
    expect(parseCrl(rootCaCrl).revokedSerials.size).toBe(0);
  });

  it('accepts a v1 CRL (no version, no extensions)', () => {
    const v1 = parseCrl(pckCrlWith((tbs) => tbs.slice(TBS_CERT_LIST.SIGNATURE, ENTRIES + 1)));
    expect(v1.revokedSerials.size).toBe(REVOKED.length);
  });
});

describe('parseCrl refuses malformed CRLs with a typed error', () => {
  it.each<[string, () => Buffer, X509ErrorCode, RegExp | null]>([
    ['empty input', () => Buffer.alloc(0), 'truncated', null],
    ['a trailing byte', () => Buffer.concat([pckCrl, Buffer.from([0])]), 'trailing_bytes', null],
    ['an empty CRL SEQUENCE', () => empty(SEQUENCE), 'missing', /CRL\.tbsCertList: missing/],
    ['an empty tbsCertList', () => pckCrlWith(() => []), 'missing', /tbsCertList\.signature: missing/],
    ['version v3', () => pckCrlWith((tbs) => replaceAt(tbs, TBS_CERT_LIST.VERSION, derInteger(2))), 'unsupported_version', null],
    ['no issuer or times', () => pckCrlWith((tbs) => tbs.slice(0, TBS_CERT_LIST.ISSUER)), 'missing', /tbsCertList\.issuer: missing/],
    ['no thisUpdate', () => pckCrlWith((tbs) => tbs.slice(0, TBS_CERT_LIST.THIS_UPDATE)), 'missing', /tbsCertList\.thisUpdate: missing/],
    ['no nextUpdate', () => pckCrlWith((tbs) => tbs.slice(0, TBS_CERT_LIST.NEXT_UPDATE)), 'missing', /tbsCertList\.nextUpdate: missing/],
    [
      'revokedCertificates where nextUpdate belongs',
      () => pckCrlWith((tbs) => tbs.filter((_, i) => i !== TBS_CERT_LIST.NEXT_UPDATE)),
      'wrong_tag',
      /nextUpdate/,
    ],
    ['a malformed thisUpdate', () => pckCrlWith((tbs) => replaceAt(tbs, TBS_CERT_LIST.THIS_UPDATE, utcTime('2602300000Z'))), 'bad_value', /thisUpdate/],
    [
      'an empty revoked entry',
      () => pckCrlWith(withEntries((entries) => [...entries, empty(SEQUENCE)])),
      'missing',
      /revokedCertificates\[2\]\.userCertificate: missing/,
    ],
    [
      'a revoked entry without revocationDate',
      () => pckCrlWith(withEntries((entries) => [...entries, derSequence([derInteger(5)])])),
      'missing',
      /revokedCertificates\[2\]\.revocationDate: missing/,
    ],
    ['a revoked entry that is an INTEGER', () => pckCrlWith(withEntries((entries) => [derInteger(5), ...entries])), 'wrong_tag', /revokedCertificates\[0\]/],
    [
      'a revoked entry with an empty serial',
      () => pckCrlWith(withEntries((entries) => [derSequence([empty(0x02), utcTime('260201000000Z')]), ...entries])),
      'bad_value',
      null,
    ],
    [
      'a revoked entry with an extra element',
      () => pckCrlWith(withEntries(() => [derSequence([derInteger(5), utcTime('260201000000Z'), derSequence([]), derInteger(1)])])),
      'unexpected_element',
      null,
    ],
    ['an empty crlExtensions wrapper', () => pckCrlWith((tbs) => [...tbs.slice(0, -1), empty(0xa0)]), 'missing', /crlExtensions\.extensions: missing/],
    ['an element after crlExtensions', () => pckCrlWith((tbs) => [...tbs, derInteger(1)]), 'unexpected_element', null],
    [
      'a non-minimal length',
      () => pckCrlWith((tbs) => replaceAt(tbs, TBS_CERT_LIST.ISSUER, Buffer.concat([Buffer.from([0x30, 0x81, 0x00])]))),
      'non_minimal',
      null,
    ],
  ])('%s', (_name, build, code, message) => {
    const error = x509ErrorOf(() => parseCrl(build()));
    expect(error.code).toBe(code);
    if (message) expect(error.message).toMatch(message);
  });

  it('every truncation of a real CRL is a typed error', () => {
    const codes = new Set<string>();
    for (let length = 0; length < pckCrlWithEntries.length; length++) {
      codes.add(x509ErrorOf(() => parseCrl(pckCrlWithEntries.subarray(0, length))).code);
    }
    expect([...codes]).toEqual(['truncated']);
  });
});

describe('verifyCrls: every defect is COLLATERAL_INVALID for its field', () => {
  const input = (overrides: Partial<{ rootCaCrlHex: string; pckCrlHex: string; pckCrlIssuerChainPem: string }> = {}) => ({
    rootCaCrlHex: rootCaCrl.toString('hex'),
    pckCrlHex: pckCrlWithEntries.toString('hex'),
    pckCrlIssuerChainPem: pki.pckCrlIssuerChainPem,
    ...overrides,
  });

  function domainErrorOf(run: () => unknown): DomainError {
    try {
      run();
    } catch (error) {
      if (error instanceof DomainError) return error;
      throw error;
    }
    throw new Error('expected a DomainError');
  }

  it('accepts the forged CRLs, and the PCK CRL revokes what it lists', () => {
    const crls = verifyCrls(input(), anchor);
    expect(crls.pckCrl.revokedSerials.has(REVOKED[0])).toBe(true);
    const chain = { certificates: [anchor.certificate], leaf: anchor.certificate, leafKey: anchor.key, notBefore: 0, notAfter: 0 };
    expect(errorCodeOf(() => checkRevocation(chain, anchor, crls, 'root'))).toBe('ok');
  });

  it.each<[string, () => ReturnType<typeof input>, string]>([
    ['root_ca_crl not hex', () => input({ rootCaCrlHex: 'zz' }), 'root_ca_crl'],
    ['root_ca_crl empty', () => input({ rootCaCrlHex: '' }), 'root_ca_crl'],
    ['root_ca_crl truncated', () => input({ rootCaCrlHex: rootCaCrl.subarray(0, 40).toString('hex') }), 'root_ca_crl'],
    [
      'pck_crl with an empty revoked entry (re-signed)',
      () => input({ pckCrlHex: pckCrlWith(withEntries((entries) => [...entries, empty(SEQUENCE)])).toString('hex') }),
      'pck_crl',
    ],
    [
      'pck_crl without nextUpdate (re-signed)',
      () => input({ pckCrlHex: pckCrlWith((tbs) => tbs.slice(0, TBS_CERT_LIST.NEXT_UPDATE)).toString('hex') }),
      'pck_crl',
    ],
    [
      'pck_crl signed by the root instead of the PCK CA',
      () => input({ pckCrlHex: resignSigned(pckCrl, pki.root.key, (tbs) => tbs).toString('hex') }),
      'pck_crl',
    ],
    ['the root CA CRL in place of the PCK CRL', () => input({ pckCrlHex: rootCaCrl.toString('hex') }), 'pck_crl'],
  ])('%s', (_name, build, field) => {
    const error = domainErrorOf(() => verifyCrls(build(), anchor));
    expect([error.code, error.detail?.field]).toEqual([ErrorCode.COLLATERAL_INVALID, field]);
  });

  it('a pck_crl_issuer_chain that is not PEM is COLLATERAL_INVALID', () => {
    expect(errorCodeOf(() => verifyCrls(input({ pckCrlIssuerChainPem: '-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----' }), anchor))).toBe(
      ErrorCode.COLLATERAL_INVALID,
    );
  });
});
