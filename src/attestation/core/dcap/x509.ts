/**
 * X.509 certificates and CRLs as the DCAP chain needs them: parsed with the strict DER reader,
 * signatures checked with node:crypto. Only ECDSA-with-SHA256 over P-256 is accepted — every
 * certificate and CRL in Intel's SGX/TDX PKI uses it, and accepting less means less to get wrong.
 */
import { KeyObject, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import {
  DerError,
  DerNode,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
  bitStringBytes,
  childrenOf,
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

export class X509Error extends Error {}

export function parseCertificate(der: Uint8Array): Certificate {
  try {
    const [tbsNode, outerAlgorithm, signatureNode, ...rest] = childrenOf(expectTag(parseDer(der), TAG_SEQUENCE, 'certificate'));
    if (rest.length !== 0) throw new X509Error('certificate has extra fields');
    const tbs = childrenOf(expectTag(tbsNode, TAG_SEQUENCE, 'tbsCertificate'));
    let index = 0;
    if (tbs[0]?.tag === contextTag(0)) {
      const [version] = childrenOf(tbs[0]);
      if (decodeSmallUnsigned(version) !== 2) throw new X509Error('certificate is not X.509 v3');
      index = 1;
    } else {
      throw new X509Error('certificate is not X.509 v3');
    }
    const serialHex = integerHex(expectTag(tbs[index], TAG_INTEGER, 'serial'));
    requireEcdsaSha256(tbs[index + 1], outerAlgorithm);
    const issuer = expectTag(tbs[index + 2], TAG_SEQUENCE, 'issuer').encoded;
    const [notBeforeNode, notAfterNode] = childrenOf(expectTag(tbs[index + 3], TAG_SEQUENCE, 'validity'));
    const subject = expectTag(tbs[index + 4], TAG_SEQUENCE, 'subject').encoded;
    const subjectPublicKeyInfo = expectTag(tbs[index + 5], TAG_SEQUENCE, 'subjectPublicKeyInfo').encoded;
    const extensionsNode = tbs.slice(index + 6).find((node) => node.tag === contextTag(3));
    const extensions = extensionsNode ? parseExtensions(extensionsNode) : new Map<string, Uint8Array>();
    const { isCa, pathLength } = parseBasicConstraints(extensions.get(OID_BASIC_CONSTRAINTS));
    return {
      der,
      serialHex,
      issuer,
      subject,
      notBefore: decodeTime(notBeforeNode),
      notAfter: decodeTime(notAfterNode),
      subjectPublicKeyInfo,
      isCa,
      pathLength,
      keyUsage: parseKeyUsage(extensions.get(OID_KEY_USAGE)),
      extensions,
      signed: { tbs: tbsNode.encoded, signature: bitStringBytes(signatureNode) },
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
    const [tbsNode, outerAlgorithm, signatureNode, ...rest] = childrenOf(expectTag(parseDer(der), TAG_SEQUENCE, 'crl'));
    if (rest.length !== 0) throw new X509Error('CRL has extra fields');
    const tbs = childrenOf(expectTag(tbsNode, TAG_SEQUENCE, 'tbsCertList'));
    let index = 0;
    if (tbs[0]?.tag === TAG_INTEGER) {
      if (decodeSmallUnsigned(tbs[0]) !== 1) throw new X509Error('CRL is not v2');
      index = 1;
    }
    requireEcdsaSha256(tbs[index], outerAlgorithm);
    const issuer = expectTag(tbs[index + 1], TAG_SEQUENCE, 'issuer').encoded;
    const thisUpdate = decodeTime(tbs[index + 2]);
    // nextUpdate is optional in RFC 5280 but Intel always sets it, and without it a CRL never goes stale.
    const nextUpdateNode = tbs[index + 3];
    if (!nextUpdateNode || (nextUpdateNode.tag !== 0x17 && nextUpdateNode.tag !== 0x18)) {
      throw new X509Error('CRL has no nextUpdate');
    }
    const revokedSerials = new Set<string>();
    const entriesNode = tbs[index + 4];
    if (entriesNode?.tag === TAG_SEQUENCE) {
      for (const entry of childrenOf(entriesNode)) {
        const [serial] = childrenOf(expectTag(entry, TAG_SEQUENCE, 'revoked certificate'));
        revokedSerials.add(integerHex(serial));
      }
    }
    return {
      der,
      issuer,
      thisUpdate,
      nextUpdate: decodeTime(nextUpdateNode),
      revokedSerials,
      signed: { tbs: tbsNode.encoded, signature: bitStringBytes(signatureNode) },
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
    throw new X509Error('public key does not parse');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new X509Error('public key is not ECDSA P-256');
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

function requireEcdsaSha256(inner: DerNode | undefined, outer: DerNode | undefined): void {
  const innerAlg = expectTag(inner, TAG_SEQUENCE, 'signature algorithm');
  const outerAlg = expectTag(outer, TAG_SEQUENCE, 'signature algorithm');
  // RFC 5280: the signed algorithm identifier must equal the outer one, byte for byte.
  if (!bytesEqual(innerAlg.encoded, outerAlg.encoded)) throw new X509Error('signature algorithm fields differ');
  const [oid, ...params] = childrenOf(innerAlg);
  if (decodeOid(oid) !== OID_ECDSA_WITH_SHA256 || params.length !== 0) {
    throw new X509Error('signature algorithm is not ecdsa-with-SHA256');
  }
}

function parseExtensions(wrapper: DerNode): Map<string, Uint8Array> {
  const [sequence, ...rest] = childrenOf(wrapper);
  if (rest.length !== 0) throw new X509Error('malformed extensions');
  const extensions = new Map<string, Uint8Array>();
  for (const extension of childrenOf(expectTag(sequence, TAG_SEQUENCE, 'extensions'))) {
    const parts = childrenOf(expectTag(extension, TAG_SEQUENCE, 'extension'));
    const oid = decodeOid(parts[0]);
    let critical = false;
    let valueNode = parts[1];
    if (valueNode?.tag === TAG_BOOLEAN) {
      critical = decodeBoolean(valueNode);
      valueNode = parts[2];
    }
    const value = expectTag(valueNode, TAG_OCTET_STRING, 'extnValue').value;
    if (extensions.has(oid)) throw new X509Error(`duplicate extension ${oid}`);
    if (critical && !KNOWN_EXTENSIONS.has(oid)) throw new X509Error(`unknown critical extension ${oid}`);
    extensions.set(oid, value);
  }
  return extensions;
}

function parseBasicConstraints(value: Uint8Array | undefined): { isCa: boolean; pathLength?: number } {
  if (!value) return { isCa: false };
  const parts = childrenOf(expectTag(parseDer(value), TAG_SEQUENCE, 'basicConstraints'));
  let isCa = false;
  let pathLength: number | undefined;
  for (const part of parts) {
    if (part.tag === TAG_BOOLEAN) isCa = decodeBoolean(part);
    else if (part.tag === TAG_INTEGER) pathLength = decodeSmallUnsigned(part);
    else throw new X509Error('malformed basicConstraints');
  }
  return { isCa, pathLength };
}

function parseKeyUsage(value: Uint8Array | undefined): Set<number> | undefined {
  if (!value) return undefined;
  const node = parseDer(value);
  if (node.tag !== 0x03 || node.value.length < 1 || node.value[0] > 7) throw new X509Error('malformed keyUsage');
  const bits = new Set<number>();
  for (let byte = 1; byte < node.value.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      if (node.value[byte] & (0x80 >> bit)) bits.add((byte - 1) * 8 + bit);
    }
  }
  return bits;
}

function asX509Error(error: unknown, what: string): X509Error {
  if (error instanceof X509Error) return error;
  if (error instanceof DerError) return new X509Error(`${what} is not valid DER: ${error.message}`);
  throw error;
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
    for (const rdn of childrenOf(expectTag(parseDer(name), TAG_SEQUENCE, 'name'))) {
      for (const attribute of childrenOf(expectTag(rdn, TAG_SET, 'relative distinguished name'))) {
        const [type, value, ...rest] = childrenOf(expectTag(attribute, TAG_SEQUENCE, 'attribute'));
        if (rest.length !== 0 || !value) return undefined;
        if (decodeOid(type) !== OID_COMMON_NAME) continue;
        if (!NAME_STRING_TAGS.has(value.tag)) return undefined;
        values.push(new TextDecoder('utf-8', { fatal: true }).decode(value.value));
      }
    }
    return values.length === 1 ? values[0] : undefined;
  } catch {
    return undefined;
  }
}

/** keyUsage is present and allows digitalSignature (signing documents rather than certificates). */
export function allowsDigitalSignature(cert: Certificate): boolean {
  return cert.keyUsage !== undefined && cert.keyUsage.has(KEY_USAGE_DIGITAL_SIGNATURE);
}
