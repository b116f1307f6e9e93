/**
 * parseCertificate and p256KeyFromSpki on forged certificates edited element by element (see
 * test/support/forge/der-edit.ts): each defect is an X509Error with the code of what is wrong and
 * a message naming the element, never a TypeError.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createTestPki, derChildren, derTlv, readTlv, replaceAt, resignSigned, TBS_CERTIFICATE, TestPki } from '../../../../test/support/forge';
import { derBoolean, derInteger, derOctetString, derOid, derSequence } from '../../../../test/support/forge/der';
import { OID_SGX_EXTENSION, X509Error, X509ErrorCode, canSignCertificates, canSignCrls, p256KeyFromSpki, parseCertificate } from './x509';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ seed: 'x509-spec' });
});

/** The X509Error code `run` throws, or 'ok'; any other error is rethrown (a crash, not a verdict). */
function x509CodeOf(run: () => unknown): X509ErrorCode | 'ok' {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (error instanceof X509Error) return error.code;
    throw error;
  }
}

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
const leafWith = (edit: (tbs: Buffer[]) => Buffer[]) => resignSigned(pki.pckLeaf.der, pki.pckCa.key, edit);
/** The TBS with its extension list (inside [3] { SEQUENCE }) edited. */
const withExtensions = (edit: (extensions: Buffer[]) => Buffer[]) => (tbs: Buffer[]) => {
  const [list] = derChildren(tbs[TBS_CERTIFICATE.EXTENSIONS]);
  return replaceAt(tbs, TBS_CERTIFICATE.EXTENSIONS, derTlv(0xa3, derSequence(edit(derChildren(list)))));
};
/** A TLV re-encoded with a long-form length for a short value (non-minimal DER). */
const nonMinimalLength = (tlv: Buffer) => {
  const { tag, value } = readTlv(tlv);
  return Buffer.concat([Buffer.from([tag, 0x81, value.length]), value]);
};
const ecdsaSha384 = derSequence([derOid('1.2.840.10045.4.3.3')]);

describe('parseCertificate on well-formed certificates', () => {
  it('reads the forged PCK leaf', () => {
    const leaf = parseCertificate(pki.pckLeaf.der);
    expect(leaf.serialHex).toBe(pki.pckLeaf.serial);
    expect([leaf.notBefore, leaf.notAfter]).toEqual([Date.parse('2020-01-01T00:00:00Z'), Date.parse('2049-12-31T23:59:59Z')]);
    expect([leaf.isCa, leaf.pathLength, canSignCertificates(leaf), canSignCrls(leaf)]).toEqual([false, undefined, false, false]);
    expect(leaf.extensions.has(OID_SGX_EXTENSION)).toBe(true);
    expect(Buffer.from(leaf.issuer)).toEqual(readTlv(derChildren(derChildren(pki.pckCa.der)[0])[TBS_CERTIFICATE.SUBJECT]).encoded);
  });

  it('reads the root: a CA with pathLenConstraint 1 that may sign certificates and CRLs', () => {
    const root = parseCertificate(pki.root.der);
    expect([root.isCa, root.pathLength, canSignCertificates(root), canSignCrls(root)]).toEqual([true, 1, true, true]);
  });

  it('accepts a certificate without extensions (nothing to refuse; the chain rules decide)', () => {
    const bare = parseCertificate(leafWith((tbs) => tbs.slice(0, TBS_CERTIFICATE.EXTENSIONS)));
    expect([bare.isCa, bare.keyUsage, bare.extensions.size]).toEqual([false, undefined, 0]);
  });
});

describe('parseCertificate refuses malformed certificates with a typed error', () => {
  it.each<[string, () => Buffer, X509ErrorCode, RegExp | null]>([
    ['empty input', () => Buffer.alloc(0), 'truncated', null],
    ['a trailing byte', () => Buffer.concat([pki.pckLeaf.der, Buffer.from([0])]), 'trailing_bytes', null],
    ['an OCTET STRING instead of the certificate SEQUENCE', () => derTlv(0x04, readTlv(pki.pckLeaf.der).value), 'wrong_tag', /certificate: expected tag 0x30/],
    ['an empty certificate SEQUENCE', () => empty(SEQUENCE), 'missing', /certificate\.tbsCertificate: missing/],
    ['a fourth top-level element', () => derSequence([...derChildren(pki.pckLeaf.der), derInteger(1)]), 'unexpected_element', null],
    ['no signatureValue', () => derSequence(derChildren(pki.pckLeaf.der).slice(0, 2)), 'missing', /certificate\.signatureValue: missing/],
    ['an empty tbsCertificate (no version: v1)', () => leafWith(() => []), 'unsupported_version', null],
    ['version v2', () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.VERSION, derTlv(0xa0, derInteger(1)))), 'unsupported_version', null],
    [
      'an empty version wrapper',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.VERSION, empty(0xa0))),
      'missing',
      /tbsCertificate\.version\.version: missing/,
    ],
    [
      'a version wrapper holding two INTEGERs',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.VERSION, derTlv(0xa0, Buffer.concat([derInteger(2), derInteger(2)])))),
      'unexpected_element',
      null,
    ],
    [
      'no serial number',
      () => leafWith((tbs) => tbs.filter((_, i) => i !== TBS_CERTIFICATE.SERIAL)),
      'wrong_tag',
      /tbsCertificate\.serialNumber: expected tag 0x02/,
    ],
    ['an empty serial number', () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.SERIAL, empty(0x02))), 'bad_value', null],
    [
      'an empty validity SEQUENCE',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.VALIDITY, empty(SEQUENCE))),
      'missing',
      /tbsCertificate\.validity\.notBefore: missing/,
    ],
    [
      'a validity with notBefore only',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.VALIDITY, derSequence([utcTime('200101000000Z')]))),
      'missing',
      /validity\.notAfter: missing/,
    ],
    [
      'a validity with three times',
      () =>
        leafWith((tbs) =>
          replaceAt(tbs, TBS_CERTIFICATE.VALIDITY, derSequence([utcTime('200101000000Z'), utcTime('300101000000Z'), utcTime('300101000000Z')])),
        ),
      'unexpected_element',
      null,
    ],
    [
      'an INTEGER as notBefore',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.VALIDITY, derSequence([derInteger(1), utcTime('300101000000Z')]))),
      'wrong_tag',
      /validity\.notBefore/,
    ],
    [
      'a malformed notAfter',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.VALIDITY, derSequence([utcTime('200101000000Z'), utcTime('301301000000Z')]))),
      'bad_value',
      /validity\.notAfter: time out of range/,
    ],
    [
      'validity as an OCTET STRING',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.VALIDITY, empty(0x04))),
      'wrong_tag',
      /tbsCertificate\.validity: expected tag 0x30/,
    ],
    [
      'a non-minimal validity length',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.VALIDITY, nonMinimalLength(tbs[TBS_CERTIFICATE.VALIDITY]))),
      'non_minimal',
      null,
    ],
    [
      'a long-form tag in place of the subject',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.SUBJECT, Buffer.from([0x3f, 0x81, 0x00, 0x00]))),
      'unsupported_tag',
      null,
    ],
    ['no subject, key or extensions', () => leafWith((tbs) => tbs.slice(0, TBS_CERTIFICATE.SUBJECT)), 'missing', /tbsCertificate\.subject: missing/],
    ['an element after the extensions', () => leafWith((tbs) => [...tbs, derInteger(7)]), 'unexpected_element', null],
    [
      'ecdsa-with-SHA384 inside and outside',
      () => {
        const cert = leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.SIGNATURE, ecdsaSha384));
        const [tbs, , signature] = derChildren(cert);
        return derSequence([tbs, ecdsaSha384, signature]);
      },
      'unsupported_algorithm',
      null,
    ],
    ['inner and outer algorithms that differ', () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.SIGNATURE, ecdsaSha384)), 'unsupported_algorithm', null],
    [
      'an empty algorithm identifier',
      () => {
        const cert = leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.SIGNATURE, empty(SEQUENCE)));
        const [tbs, , signature] = derChildren(cert);
        return derSequence([tbs, empty(SEQUENCE), signature]);
      },
      'missing',
      /signature algorithm\.algorithm: missing/,
    ],
    [
      'a signatureValue with unused bits',
      () => {
        const [tbs, algorithm, signature] = derChildren(pki.pckLeaf.der);
        const bits = Buffer.from(readTlv(signature).value);
        bits[0] = 1;
        return derSequence([tbs, algorithm, derTlv(0x03, bits)]);
      },
      'bad_value',
      null,
    ],
    [
      'an empty extensions wrapper',
      () => leafWith((tbs) => replaceAt(tbs, TBS_CERTIFICATE.EXTENSIONS, empty(0xa3))),
      'missing',
      /tbsCertificate\.extensions\.list: missing/,
    ],
    [
      'an extension without extnValue',
      () => leafWith(withExtensions((list) => [...list, derSequence([derOid('2.5.29.32')])])),
      'missing',
      /extensions\[\d+\]\.extnValue: missing/,
    ],
    ['an extension with an empty body', () => leafWith(withExtensions((list) => [...list, empty(SEQUENCE)])), 'missing', /extnID: missing/],
    [
      'an extension whose OID is an INTEGER',
      () => leafWith(withExtensions((list) => [...list, derSequence([derInteger(5), derOctetString(Buffer.alloc(1))])])),
      'wrong_tag',
      null,
    ],
    [
      'an unknown critical extension',
      () => leafWith(withExtensions((list) => [...list, derSequence([derOid('2.5.29.32'), derBoolean(true), derOctetString(derSequence([]))])])),
      'bad_extension',
      /unknown critical extension 2\.5\.29\.32/,
    ],
    ['a duplicate extension', () => leafWith(withExtensions((list) => [...list, list[0]])), 'bad_extension', /duplicate extension/],
    [
      'basicConstraints with pathLen before cA',
      () =>
        leafWith(
          withExtensions((list) => [
            ...list.filter((ext) => !ext.includes(derOid('2.5.29.19'))),
            derSequence([derOid('2.5.29.19'), derBoolean(true), derOctetString(derSequence([derInteger(0), derBoolean(true)]))]),
          ]),
        ),
      'bad_extension',
      null,
    ],
    [
      'basicConstraints that is not DER',
      () =>
        leafWith(
          withExtensions((list) => [
            ...list.filter((ext) => !ext.includes(derOid('2.5.29.19'))),
            derSequence([derOid('2.5.29.19'), derBoolean(true), derOctetString(Buffer.from([0x30, 0x05]))]),
          ]),
        ),
      'bad_extension',
      null,
    ],
    [
      'keyUsage that is not a BIT STRING',
      () =>
        leafWith(
          withExtensions((list) => [
            ...list.filter((ext) => !ext.includes(derOid('2.5.29.15'))),
            derSequence([derOid('2.5.29.15'), derBoolean(true), derOctetString(derInteger(5))]),
          ]),
        ),
      'bad_extension',
      null,
    ],
    [
      'keyUsage with 8 unused bits',
      () =>
        leafWith(
          withExtensions((list) => [
            ...list.filter((ext) => !ext.includes(derOid('2.5.29.15'))),
            derSequence([derOid('2.5.29.15'), derBoolean(true), derOctetString(derTlv(0x03, Buffer.from([8, 0x80])))]),
          ]),
        ),
      'bad_extension',
      null,
    ],
  ])('%s', (_name, build, code, message) => {
    const error = x509ErrorOf(() => parseCertificate(build()));
    expect(error.code).toBe(code);
    if (message) expect(error.message).toMatch(message);
  });

  it('every truncation of a real certificate is a typed error', () => {
    const der = pki.pckLeaf.der;
    const codes = new Set<string>();
    for (let length = 0; length < der.length; length++) codes.add(x509CodeOf(() => parseCertificate(der.subarray(0, length))));
    expect([...codes].sort()).toEqual(['truncated']);
  });

  it('tag and length bytes of the first headers, overwritten: a typed error each, never a crash', () => {
    const der = Buffer.from(pki.pckLeaf.der);
    const codes = new Set<string>();
    for (let offset = 0; offset < 16; offset++) {
      for (const value of [0x00, 0x01, 0x1f, 0x30, 0x7f, 0x80, 0x81, 0x84, 0xa0, 0xff]) {
        const mutated = Buffer.from(der);
        mutated[offset] = value;
        codes.add(x509CodeOf(() => parseCertificate(mutated)));
      }
    }
    // x509CodeOf rethrew any crash; the exact set depends on the (randomised) signature length.
    expect([...codes]).toEqual(expect.arrayContaining(['truncated', 'wrong_tag', 'unsupported_tag', 'unsupported_length']));
  });
});

describe('p256KeyFromSpki', () => {
  it('imports the leaf key and refuses anything that is not a P-256 public key', () => {
    expect(p256KeyFromSpki(parseCertificate(pki.pckLeaf.der).subjectPublicKeyInfo).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x509CodeOf(() => p256KeyFromSpki(Buffer.from('30030201ff', 'hex')))).toBe('unsupported_key');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' });
    expect(x509CodeOf(() => p256KeyFromSpki(p384))).toBe('unsupported_key');
  });
});
