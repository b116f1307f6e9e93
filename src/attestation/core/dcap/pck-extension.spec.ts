/**
 * Intel's SGX extension in a PCK certificate, on hand-built extension values: every malformed or
 * incomplete one is an X509Error with the code of its defect, naming the field, never a TypeError.
 */
import { createTestPki, derTlv, editedPckLeaf, encodeSgxExtension, SGX_OID, TBS_CERTIFICATE, TestPki, replaceAt } from '../../../../test/support/forge';
import { derEnumerated, derInteger, derOctetString, derOid, derSequence } from '../../../../test/support/forge/der';
import { fmspcOfPckLeaf, parsePckExtension, pckPlatformOfLeaf } from './pck-extension';
import { Certificate, OID_SGX_EXTENSION, X509Error, X509ErrorCode, parseCertificate } from './x509';

let pki: TestPki;
let leaf: Certificate;
beforeAll(async () => {
  pki = await createTestPki({ seed: 'pck-extension-spec', pckCaKind: 'processor' });
  leaf = parseCertificate(pki.pckLeaf.der);
});

/** The leaf as parsed, with another SGX extension value (or none). */
const withSgxExtension = (value: Buffer | null): Certificate => {
  const extensions = new Map(leaf.extensions);
  if (value) extensions.set(OID_SGX_EXTENSION, value);
  else extensions.delete(OID_SGX_EXTENSION);
  return { ...leaf, extensions };
};

type Entries = [string, Buffer][];
const pair = (oid: string, value: Buffer) => derSequence([derOid(oid), value]);
const encode = (entries: Entries) => derSequence(entries.map(([oid, value]) => pair(oid, value)));

/** The SGX extension of the forged platform as (OID, value) entries, TCB entries nested. */
function standardEntries(): { top: Entries; tcb: Entries } {
  const platform = pki.platform;
  const tcb: Entries = [
    ...platform.sgxTcbComponents.map((svn, i): [string, Buffer] => [`${SGX_OID.TCB_COMPONENT_PREFIX}${i + 1}`, derInteger(svn)]),
    [SGX_OID.PCESVN, derInteger(platform.pcesvn)],
    [SGX_OID.CPUSVN, derOctetString(Buffer.from(platform.sgxTcbComponents))],
  ];
  const top: Entries = [
    [SGX_OID.PPID, derOctetString(platform.ppid)],
    [SGX_OID.PCE_ID, derOctetString(platform.pceId)],
    [SGX_OID.FMSPC, derOctetString(platform.fmspc)],
    [SGX_OID.SGX_TYPE, derEnumerated(platform.sgxType)],
  ];
  return { top, tcb };
}

/** An SGX extension built from the standard entries after `edit`. */
function sgxExtension(edit: (entries: { top: Entries; tcb: Entries }) => void = () => undefined): Buffer {
  const entries = standardEntries();
  edit(entries);
  return encode([...entries.top, [SGX_OID.TCB, encode(entries.tcb)]]);
}

const drop = (entries: Entries, oid: string) =>
  entries.splice(
    entries.findIndex(([o]) => o === oid),
    1,
  );
const set = (entries: Entries, oid: string, value: Buffer) => {
  const entry = entries.find(([o]) => o === oid);
  if (!entry) throw new Error(`no ${oid}`);
  entry[1] = value;
};

function x509ErrorOf(run: () => unknown): X509Error {
  try {
    run();
  } catch (error) {
    if (error instanceof X509Error) return error;
    throw error;
  }
  throw new Error('expected an X509Error');
}

describe('parsePckExtension', () => {
  it('reads the forged platform, and the hand-built equivalent the same way', () => {
    const expected = {
      ppid: new Uint8Array(pki.platform.ppid),
      fmspc: new Uint8Array(pki.platform.fmspc),
      pceId: new Uint8Array(pki.platform.pceId),
      sgxType: pki.platform.sgxType,
      cpuSvn: new Uint8Array(pki.platform.sgxTcbComponents),
      pceSvn: pki.platform.pcesvn,
      sgxTcbComponents: pki.platform.sgxTcbComponents,
    };
    const normalise = (ext: ReturnType<typeof parsePckExtension>) => ({
      ...ext,
      ppid: new Uint8Array(ext.ppid),
      fmspc: new Uint8Array(ext.fmspc),
      pceId: new Uint8Array(ext.pceId),
      cpuSvn: new Uint8Array(ext.cpuSvn),
    });
    expect(normalise(parsePckExtension(leaf))).toEqual(expected);
    expect(normalise(parsePckExtension(withSgxExtension(sgxExtension())))).toEqual(expected);
    expect(normalise(parsePckExtension(withSgxExtension(encodeSgxExtension(pki.platform))))).toEqual(expected);
  });

  it.each<[string, () => Buffer | null, X509ErrorCode, RegExp]>([
    ['no SGX extension', () => null, 'missing_extension', /no SGX extension/],
    ['an empty value', () => Buffer.alloc(0), 'truncated', /SGX extension/],
    ['a trailing byte', () => Buffer.concat([sgxExtension(), Buffer.from([0])]), 'trailing_bytes', /SGX extension/],
    ['an OCTET STRING instead of the SEQUENCE', () => derOctetString(Buffer.alloc(4)), 'wrong_tag', /SGX extension: expected tag 0x30/],
    ['an empty SEQUENCE', () => derSequence([]), 'missing', /TCB \(1\.2\.840\.113741\.1\.13\.1\.2\): missing/],
    ['an entry that is not a SEQUENCE', () => derSequence([derInteger(1)]), 'wrong_tag', /SGX extension\[0\]/],
    ['an empty entry', () => derSequence([derSequence([])]), 'missing', /SGX extension\[0\]\.id: missing/],
    ['an entry with an OID only', () => derSequence([derSequence([derOid(SGX_OID.PPID)])]), 'missing', /SGX extension\[0\]\.value: missing/],
    [
      'an entry with three elements',
      () => derSequence([derSequence([derOid(SGX_OID.PPID), derOctetString(Buffer.alloc(16)), derInteger(1)])]),
      'unexpected_element',
      /SGX extension\[0\]/,
    ],
    ['an entry whose id is an INTEGER', () => derSequence([derSequence([derInteger(1), derInteger(1)])]), 'wrong_tag', /SGX extension\[0\]\.id/],
    [
      'a duplicate FMSPC',
      () => sgxExtension(({ top }) => top.push([SGX_OID.FMSPC, derOctetString(Buffer.alloc(6))])),
      'unexpected_element',
      /duplicate 1\.2\.840\.113741\.1\.13\.1\.4/,
    ],
    ['no FMSPC', () => sgxExtension(({ top }) => drop(top, SGX_OID.FMSPC)), 'missing', /FMSPC \(1\.2\.840\.113741\.1\.13\.1\.4\): missing/],
    [
      'FMSPC under a wrong OID',
      () =>
        sgxExtension(({ top }) => {
          drop(top, SGX_OID.FMSPC);
          top.push([`${SGX_OID.FMSPC}4`, derOctetString(pki.platform.fmspc)]);
        }),
      'missing',
      /FMSPC/,
    ],
    ['a 5-byte FMSPC', () => sgxExtension(({ top }) => set(top, SGX_OID.FMSPC, derOctetString(Buffer.alloc(5)))), 'bad_value', /FMSPC: 5 bytes, expected 6/],
    ['FMSPC as an INTEGER', () => sgxExtension(({ top }) => set(top, SGX_OID.FMSPC, derInteger(7))), 'wrong_tag', /FMSPC/],
    ['a 15-byte PPID', () => sgxExtension(({ top }) => set(top, SGX_OID.PPID, derOctetString(Buffer.alloc(15)))), 'bad_value', /PPID/],
    ['a 3-byte PCE-ID', () => sgxExtension(({ top }) => set(top, SGX_OID.PCE_ID, derOctetString(Buffer.alloc(3)))), 'bad_value', /PCE-ID/],
    ['SGX type as an INTEGER', () => sgxExtension(({ top }) => set(top, SGX_OID.SGX_TYPE, derInteger(0))), 'wrong_tag', /SGX type/],
    [
      'TCB that is not a SEQUENCE',
      () => {
        const { top } = standardEntries();
        return encode([...top, [SGX_OID.TCB, derInteger(1)]]);
      },
      'wrong_tag',
      /SGX extension TCB/,
    ],
    ['no TCB component 7', () => sgxExtension(({ tcb }) => drop(tcb, `${SGX_OID.TCB_COMPONENT_PREFIX}7`)), 'missing', /SGX TCB component 7/],
    [
      'TCB component 3 as an OCTET STRING',
      () => sgxExtension(({ tcb }) => set(tcb, `${SGX_OID.TCB_COMPONENT_PREFIX}3`, derOctetString(Buffer.from([3])))),
      'wrong_tag',
      /SGX TCB component 3/,
    ],
    [
      'a negative TCB component',
      () => sgxExtension(({ tcb }) => set(tcb, `${SGX_OID.TCB_COMPONENT_PREFIX}1`, derTlv(0x02, Buffer.from([0xff])))),
      'bad_value',
      /SGX TCB component 1/,
    ],
    [
      'an empty TCB component',
      () => sgxExtension(({ tcb }) => set(tcb, `${SGX_OID.TCB_COMPONENT_PREFIX}16`, derTlv(0x02, Buffer.alloc(0)))),
      'bad_value',
      /SGX TCB component 16/,
    ],
    ['no PCESVN', () => sgxExtension(({ tcb }) => drop(tcb, SGX_OID.PCESVN)), 'missing', /PCESVN/],
    ['a 15-byte CPUSVN', () => sgxExtension(({ tcb }) => set(tcb, SGX_OID.CPUSVN, derOctetString(Buffer.alloc(15)))), 'bad_value', /CPUSVN/],
  ])('%s', (_name, build, code, message) => {
    const error = x509ErrorOf(() => parsePckExtension(withSgxExtension(build())));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('ignores entries it does not use (platform instance id, configuration, unknown OIDs)', () => {
    const extension = sgxExtension(({ top }) => top.push(['1.2.840.113741.1.13.1.99', derSequence([])]));
    expect(parsePckExtension(withSgxExtension(extension)).sgxType).toBe(pki.platform.sgxType);
  });
});

describe('pckPlatformOfLeaf', () => {
  it('reads FMSPC and the issuing CA kind from a leaf', () => {
    expect(pckPlatformOfLeaf(pki.pckLeaf.der)).toEqual({ fmspc: expect.anything(), processorCa: true });
    expect(Buffer.from(fmspcOfPckLeaf(pki.pckLeaf.der)!)).toEqual(pki.platform.fmspc);
  });

  it('answers null, not a crash, for a leaf that does not parse or has no readable FMSPC', () => {
    const emptyValidity = editedPckLeaf(pki, (tbs) => replaceAt(tbs, TBS_CERTIFICATE.VALIDITY, derTlv(0x30, Buffer.alloc(0))));
    const noExtensions = editedPckLeaf(pki, (tbs) => tbs.slice(0, TBS_CERTIFICATE.EXTENSIONS));
    for (const der of [undefined, new Uint8Array(0), pki.pckLeaf.der.subarray(0, 100), emptyValidity, noExtensions]) {
      expect(pckPlatformOfLeaf(der)).toBeNull();
    }
  });
});
