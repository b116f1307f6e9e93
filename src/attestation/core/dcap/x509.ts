/**
 * X.509 certificates and CRLs as the DCAP chain needs them: parsed with the strict DER reader,
 * signatures checked with node:crypto. Only ECDSA-with-SHA256 over P-256 is accepted — every
 * certificate and CRL in Intel's SGX/TDX PKI uses it, and accepting less means less to get wrong.
 */
import { KeyObject, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import {
  DerCursor,
  DerError,
  DerErrorCode,
  DerNode,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  bitStringBytes,
  contextPrimitiveTag,
  contextTag,
  decodeBoolean,
  decodeOid,
  decodeSmallUnsigned,
  decodeTime,
  expectTag,
  integerHex,
  parseDer,
} from './der';
import { bytesEqual } from '../quote/encoding';

export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_KEY_USAGE = '2.5.29.15';
export const OID_SGX_EXTENSION = '1.2.840.113741.1.13.1';

/** Extensions we understand; any other extension marked critical makes the certificate invalid (RFC 5280 4.2). */
const KNOWN_EXTENSIONS = new Set([
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
  '2.5.29.14', // subject key identifier
  '2.5.29.35', // authority key identifier
  '2.5.29.31', // CRL distribution points
  OID_SGX_EXTENSION,
]);

const KEY_USAGE_KEY_CERT_SIGN = 5;
const KEY_USAGE_CRL_SIGN = 6;
const X509_V3 = 2;
const CRL_V2 = 1;

export interface Certificate {
  der: Uint8Array;
  serialHex: string;
  issuer: Uint8Array; // DER Name
  subject: Uint8Array; // DER Name
  notBefore: number; // epoch ms
  notAfter: number;
  subjectPublicKeyInfo: Uint8Array;
  isCa: boolean;
  pathLength?: number;
  /** Bit numbers set in keyUsage, or undefined when the extension is absent. */
  keyUsage?: Set<number>;
  extensions: Map<string, Uint8Array>; // OID → extnValue contents
  signed: SignedPart;
}

interface SignedPart {
  tbs: Uint8Array;
  signature: Uint8Array; // DER ECDSA-Sig-Value
}

/**
 * What kind of defect an X509Error reports: a DER defect (its DerErrorCode, the element named in
 * the message), or one of the X.509 rules below.
 */
export type X509ErrorCode =
  | DerErrorCode
  /** Not an X.509 v3 certificate, or not a v2 CRL. */
  | 'unsupported_version'
  /** A signature algorithm other than ecdsa-with-SHA256, or inner and outer algorithms that differ. */
  | 'unsupported_algorithm'
  /** A public key that does not parse or is not ECDSA P-256. */
  | 'unsupported_key'
  /** A duplicate extension, an unknown critical one, or a malformed one we read. */
  | 'bad_extension'
  /** An extension (or a field of one) the certificate must carry is absent. */
  | 'missing_extension'
  /** Anything else the caller refuses (e.g. a root that is not a self-issued CA). */
  | 'invalid';

export class X509Error extends Error {
  constructor(
    message: string,
    readonly code: X509ErrorCode = 'invalid',
  ) {
    super(message);
    this.name = 'X509Error';
  }
}

export function parseCertificate(der: Uint8Array): Certificate {
  try {
    const certificate = new DerCursor(expectTag(parseDer(der, 'certificate'), TAG_SEQUENCE, 'certificate'), 'certificate');
    const tbsNode = certificate.next(TAG_SEQUENCE, 'tbsCertificate');
    const outerAlgorithm = certificate.next(TAG_SEQUENCE, 'signatureAlgorithm');
    const signatureNode = certificate.next(TAG_BIT_STRING, 'signatureValue');
    certificate.end();

    const tbs = new DerCursor(tbsNode, 'tbsCertificate');
    // version [0] EXPLICIT INTEGER DEFAULT v1: absent means v1, which has no extensions.
    const versionWrapper = tbs.optional(contextTag(0));
    if (!versionWrapper) throw new X509Error('certificate is not X.509 v3 (no version field)', 'unsupported_version');
    const versionCursor = new DerCursor(versionWrapper, 'tbsCertificate.version');
    const version = decodeSmallUnsigned(versionCursor.next(TAG_INTEGER, 'version'), TAG_INTEGER, 'tbsCertificate.version');
    versionCursor.end();
    if (version !== X509_V3) throw new X509Error(`certificate is not X.509 v3 (version field ${version})`, 'unsupported_version');
    const serialHex = integerHex(tbs.next(TAG_INTEGER, 'serialNumber'), 'tbsCertificate.serialNumber');
    requireEcdsaSha256(tbs.next(TAG_SEQUENCE, 'signature'), outerAlgorithm);
    const issuer = tbs.next(TAG_SEQUENCE, 'issuer').encoded;
    const validity = new DerCursor(tbs.next(TAG_SEQUENCE, 'validity'), 'tbsCertificate.validity');
    const notBefore = decodeTime(validity.nextAny('notBefore'), 'tbsCertificate.validity.notBefore');
    const notAfter = decodeTime(validity.nextAny('notAfter'), 'tbsCertificate.validity.notAfter');
    validity.end();
    const subject = tbs.next(TAG_SEQUENCE, 'subject').encoded;
    const subjectPublicKeyInfo = tbs.next(TAG_SEQUENCE, 'subjectPublicKeyInfo').encoded;
    // issuerUniqueID [1] and subjectUniqueID [2] IMPLICIT BIT STRING: allowed, not used.
    tbs.optional(contextPrimitiveTag(1));
    tbs.optional(contextPrimitiveTag(2));
    const extensionsNode = tbs.optional(contextTag(3));
    tbs.end();
    const extensions = extensionsNode ? parseExtensions(extensionsNode) : new Map<string, Uint8Array>();
    const { isCa, pathLength } = parseBasicConstraints(extensions.get(OID_BASIC_CONSTRAINTS));
    return {
      der,
      serialHex,
      issuer,
      subject,
      notBefore,
      notAfter,
      subjectPublicKeyInfo,
      isCa,
      pathLength,
      keyUsage: parseKeyUsage(extensions.get(OID_KEY_USAGE)),
      extensions,
      signed: { tbs: tbsNode.encoded, signature: bitStringBytes(signatureNode, 'certificate.signatureValue') },
    };
  } catch (error) {
    throw asX509Error(error, 'certificate');
  }
}

export interface Crl {
  der: Uint8Array;
  issuer: Uint8Array;
  thisUpdate: number;
  nextUpdate: number;
  revokedSerials: Set<string>;
  signed: SignedPart;
}

export function parseCrl(der: Uint8Array): Crl {
  try {
    const crl = new DerCursor(expectTag(parseDer(der, 'CRL'), TAG_SEQUENCE, 'CRL'), 'CRL');
    const tbsNode = crl.next(TAG_SEQUENCE, 'tbsCertList');
    const outerAlgorithm = crl.next(TAG_SEQUENCE, 'signatureAlgorithm');
    const signatureNode = crl.next(TAG_BIT_STRING, 'signatureValue');
    crl.end();

    const tbs = new DerCursor(tbsNode, 'tbsCertList');
    // version INTEGER OPTIONAL: present (v2) whenever the CRL has extensions, as Intel's do.
    const versionNode = tbs.optional(TAG_INTEGER);
    if (versionNode) {
      const version = decodeSmallUnsigned(versionNode, TAG_INTEGER, 'tbsCertList.version');
      if (version !== CRL_V2) throw new X509Error(`CRL is not v2 (version field ${version})`, 'unsupported_version');
    }
    requireEcdsaSha256(tbs.next(TAG_SEQUENCE, 'signature'), outerAlgorithm);
    const issuer = tbs.next(TAG_SEQUENCE, 'issuer').encoded;
    const thisUpdate = decodeTime(tbs.nextAny('thisUpdate'), 'tbsCertList.thisUpdate');
    // nextUpdate is optional in RFC 5280 but Intel always sets it, and without it a CRL never goes stale.
    const nextUpdate = decodeTime(tbs.nextAny('nextUpdate'), 'tbsCertList.nextUpdate');
    const revokedSerials = new Set<string>();
    const entriesNode = tbs.optional(TAG_SEQUENCE);
    if (entriesNode) {
      const entries = new DerCursor(entriesNode, 'tbsCertList.revokedCertificates');
      for (const [i, entryNode] of entries.rest().entries()) {
        const element = `tbsCertList.revokedCertificates[${i}]`;
        const entry = new DerCursor(expectTag(entryNode, TAG_SEQUENCE, element), element);
        revokedSerials.add(integerHex(entry.next(TAG_INTEGER, 'userCertificate'), `${element}.userCertificate`));
        decodeTime(entry.nextAny('revocationDate'), `${element}.revocationDate`);
        entry.optional(TAG_SEQUENCE); // crlEntryExtensions (reason code): not used
        entry.end();
      }
    }
    // crlExtensions [0] EXPLICIT: CRL number, authority key id, issuing distribution point; not used.
    const extensionsNode = tbs.optional(contextTag(0));
    if (extensionsNode) {
      const wrapper = new DerCursor(extensionsNode, 'tbsCertList.crlExtensions');
      wrapper.next(TAG_SEQUENCE, 'extensions');
      wrapper.end();
    }
    tbs.end();
    return {
      der,
      issuer,
      thisUpdate,
      nextUpdate,
      revokedSerials,
      signed: { tbs: tbsNode.encoded, signature: bitStringBytes(signatureNode, 'CRL.signatureValue') },
    };
  } catch (error) {
    throw asX509Error(error, 'CRL');
  }
}

/** A P-256 public key from a SubjectPublicKeyInfo; anything else is refused. */
export function p256KeyFromSpki(spki: Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new X509Error('public key does not parse', 'unsupported_key');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new X509Error('public key is not ECDSA P-256', 'unsupported_key');
  }
  return key;
}

/** Did `issuerKey` sign this certificate or CRL? */
export function isSignedBy(signed: SignedPart, issuerKey: KeyObject): boolean {
  try {
    return cryptoVerify('sha256', signed.tbs, { key: issuerKey, dsaEncoding: 'der' }, signed.signature);
  } catch {
    return false;
  }
}

export function canSignCertificates(cert: Certificate): boolean {
  return cert.isCa && (cert.keyUsage === undefined || cert.keyUsage.has(KEY_USAGE_KEY_CERT_SIGN));
}

export function canSignCrls(cert: Certificate): boolean {
  return cert.keyUsage === undefined || cert.keyUsage.has(KEY_USAGE_CRL_SIGN);
}

export function namesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}

function requireEcdsaSha256(inner: DerNode, outer: DerNode): void {
  // RFC 5280: the signed algorithm identifier must equal the outer one, byte for byte.
  if (!bytesEqual(inner.encoded, outer.encoded)) throw new X509Error('signature algorithm fields differ', 'unsupported_algorithm');
  const algorithm = new DerCursor(inner, 'signature algorithm');
  const oid = decodeOid(algorithm.next(TAG_OID, 'algorithm'), 'signature algorithm');
  // ecdsa-with-SHA256 has no parameters (RFC 5758 3.2), not even NULL.
  if (oid !== OID_ECDSA_WITH_SHA256 || !algorithm.done) {
    throw new X509Error(`signature algorithm ${oid} is not ecdsa-with-SHA256`, 'unsupported_algorithm');
  }
}

function parseExtensions(wrapperNode: DerNode): Map<string, Uint8Array> {
  const wrapper = new DerCursor(wrapperNode, 'tbsCertificate.extensions');
  const list = new DerCursor(wrapper.next(TAG_SEQUENCE, 'list'), 'tbsCertificate.extensions');
  wrapper.end();
  const extensions = new Map<string, Uint8Array>();
  for (const [i, extensionNode] of list.rest().entries()) {
    const element = `tbsCertificate.extensions[${i}]`;
    const extension = new DerCursor(expectTag(extensionNode, TAG_SEQUENCE, element), element);
    const oid = decodeOid(extension.next(TAG_OID, 'extnID'), `${element}.extnID`);
    const criticalNode = extension.optional(TAG_BOOLEAN);
    const critical = criticalNode ? decodeBoolean(criticalNode, `${element}.critical`) : false;
    const value = extension.next(TAG_OCTET_STRING, 'extnValue').value;
    extension.end();
    if (extensions.has(oid)) throw new X509Error(`duplicate extension ${oid}`, 'bad_extension');
    if (critical && !KNOWN_EXTENSIONS.has(oid)) throw new X509Error(`unknown critical extension ${oid}`, 'bad_extension');
    extensions.set(oid, value);
  }
  return extensions;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL } */
function parseBasicConstraints(value: Uint8Array | undefined): { isCa: boolean; pathLength?: number } {
  if (!value) return { isCa: false };
  try {
    const parts = new DerCursor(expectTag(parseDer(value, 'basicConstraints'), TAG_SEQUENCE, 'basicConstraints'), 'basicConstraints');
    const caNode = parts.optional(TAG_BOOLEAN);
    const pathLengthNode = parts.optional(TAG_INTEGER);
    parts.end();
    return {
      isCa: caNode ? decodeBoolean(caNode, 'basicConstraints.cA') : false,
      pathLength: pathLengthNode ? decodeSmallUnsigned(pathLengthNode, TAG_INTEGER, 'basicConstraints.pathLenConstraint') : undefined,
    };
  } catch (error) {
    throw malformedExtension(error);
  }
}

function parseKeyUsage(value: Uint8Array | undefined): Set<number> | undefined {
  if (!value) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = expectTag(parseDer(value, 'keyUsage'), TAG_BIT_STRING, 'keyUsage').value;
  } catch (error) {
    throw malformedExtension(error);
  }
  const unusedBits = bytes[0];
  if (unusedBits === undefined || unusedBits > 7) throw new X509Error('keyUsage: malformed bit string', 'bad_extension');
  const bits = new Set<number>();
  for (const [index, byte] of bytes.subarray(1).entries()) {
    for (let bit = 0; bit < 8; bit++) {
      if (byte & (0x80 >> bit)) bits.add(index * 8 + bit);
    }
  }
  return bits;
}

/** A DER defect inside an extension we read is a bad extension (the certificate's DER was fine). */
function malformedExtension(error: unknown): unknown {
  return error instanceof DerError ? new X509Error(`${error.message} (malformed extension)`, 'bad_extension') : error;
}

/** DER defects become X509Errors keeping their code; anything else is a bug and goes on as it is. */
function asX509Error(error: unknown, what: string): unknown {
  if (error instanceof X509Error) return error;
  if (error instanceof DerError) return new X509Error(`${what} is not valid DER: ${error.message}`, error.code);
  return error;
}

export const OID_COMMON_NAME = '2.5.4.3';
const KEY_USAGE_DIGITAL_SIGNATURE = 0;
const TAG_SET = 0x31;
/** DirectoryString forms Intel's names use: UTF8String, PrintableString, IA5String. */
const NAME_STRING_TAGS = new Set([0x0c, 0x13, 0x16]);

/**
 * The single commonName of a DER Name, or undefined when there is none, more than one, or it is
 * not a plain string: a role is decided by this name, so anything ambiguous names no role.
 */
export function commonNameOf(name: Uint8Array): string | undefined {
  try {
    const values: string[] = [];
    for (const rdn of new DerCursor(parseDer(name, 'name'), 'name').rest()) {
      for (const attribute of new DerCursor(expectTag(rdn, TAG_SET, 'relative distinguished name'), 'relative distinguished name').rest()) {
        const fields = new DerCursor(expectTag(attribute, TAG_SEQUENCE, 'attribute'), 'attribute');
        const type = fields.next(TAG_OID, 'type');
        const value = fields.nextAny('value');
        fields.end();
        if (decodeOid(type) !== OID_COMMON_NAME) continue;
        if (!NAME_STRING_TAGS.has(value.tag)) return undefined;
        const text = strictUtf8(value.value);
        if (text === undefined) return undefined;
        values.push(text);
      }
    }
    return values.length === 1 ? values[0] : undefined;
  } catch (error) {
    // Only a malformed name names no role; anything else is a bug and goes on.
    if (error instanceof DerError) return undefined;
    throw error;
  }
}

function strictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** keyUsage is present and allows digitalSignature (signing documents rather than certificates). */
export function allowsDigitalSignature(cert: Certificate): boolean {
  return cert.keyUsage !== undefined && cert.keyUsage.has(KEY_USAGE_DIGITAL_SIGNATURE);
}
