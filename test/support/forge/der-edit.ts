/**
 * Editing DER after it was made, for negative tests: split a TLV into its children, put it back
 * together, and re-sign a certificate or CRL whose to-be-signed part was edited, so a verifier gets
 * past the signature and meets the malformed element itself. Only reads what the forge and Intel
 * write (single-byte tags, definite lengths); anything else throws a plain Error (a test bug).
 */
import { KeyObject, sign } from 'node:crypto';
import type { TestPki } from './test-pki';

export interface Tlv {
  tag: number;
  /** Contents only. */
  value: Buffer;
  /** The whole TLV. */
  encoded: Buffer;
}

/** Positions of the fields of a v3 TBSCertificate without unique identifiers (RFC 5280 4.1). */
export const TBS_CERTIFICATE = { VERSION: 0, SERIAL: 1, SIGNATURE: 2, ISSUER: 3, VALIDITY: 4, SUBJECT: 5, SPKI: 6, EXTENSIONS: 7 } as const;
/** Positions of the fields of a v2 TBSCertList (RFC 5280 5.1). */
export const TBS_CERT_LIST = { VERSION: 0, SIGNATURE: 1, ISSUER: 2, THIS_UPDATE: 3, NEXT_UPDATE: 4 } as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a minimal length. */
export function derTlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

/** The TLV at `offset` and where the next one starts. */
export function readTlv(bytes: Buffer, offset = 0): Tlv & { end: number } {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined) throw new Error('der-edit: truncated TLV');
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Error('der-edit: unsupported length form');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[offset + 2 + i] ?? 0);
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new Error('der-edit: TLV runs past its container');
  return { tag, value: bytes.subarray(offset + header, end), encoded: bytes.subarray(offset, end), end };
}

/** The children of a constructed TLV, each as its whole encoding. */
export function derChildren(tlv: Buffer): Buffer[] {
  const { value } = readTlv(tlv);
  const children: Buffer[] = [];
  for (let offset = 0; offset < value.length;) {
    const child = readTlv(value, offset);
    children.push(child.encoded);
    offset = child.end;
  }
  return children;
}

/**
 * A certificate or CRL (both SEQUENCE { tbs, signatureAlgorithm, signatureValue }) whose TBS
 * children went through `edit`, re-signed ECDSA-SHA256 by `issuerKey`.
 */
export function resignSigned(der: Buffer, issuerKey: KeyObject, edit: (tbsChildren: Buffer[]) => Buffer[]): Buffer {
  const [tbs, algorithm] = derChildren(der);
  if (!tbs || !algorithm) throw new Error('der-edit: not a signed structure');
  const { tag } = readTlv(tbs);
  const newTbs = derTlv(tag, Buffer.concat(edit(derChildren(tbs))));
  const signature = sign('sha256', newTbs, { key: issuerKey, dsaEncoding: 'der' });
  return derTlv(0x30, Buffer.concat([newTbs, algorithm, derTlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
}

/** `children` with the one at `index` replaced. */
export function replaceAt(children: Buffer[], index: number, replacement: Buffer): Buffer[] {
  if (index < 0 || index >= children.length) throw new Error(`der-edit: no child ${index}`);
  return children.map((child, i) => (i === index ? replacement : child));
}

export function certificatePem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The PKI's PCK chain (leaf, PCK CA, root) with `leafDer` and/or `caDer` in place of its own. */
export function pckChainPemWith(pki: TestPki, replace: { leafDer?: Buffer; caDer?: Buffer }): string {
  return [replace.leafDer ?? pki.pckLeaf.der, replace.caDer ?? pki.pckCa.der, pki.root.der].map(certificatePem).join('');
}

/** The PKI's PCK leaf with `edit` applied to its TBSCertificate, re-signed by the PCK CA. */
export function editedPckLeaf(pki: TestPki, edit: (tbsChildren: Buffer[]) => Buffer[]): Buffer {
  return resignSigned(pki.pckLeaf.der, pki.pckCa.key, edit);
}

/** The PKI's PCK CA with `edit` applied to its TBSCertificate, re-signed by the root. */
export function editedPckCa(pki: TestPki, edit: (tbsChildren: Buffer[]) => Buffer[]): Buffer {
  return resignSigned(pki.pckCa.der, pki.root.key, edit);
}

const emptyValidity = (tbs: Buffer[]) => replaceAt(tbs, TBS_CERTIFICATE.VALIDITY, derTlv(0x30, Buffer.alloc(0)));

/**
 * A PCK chain where one certificate's validity is an empty SEQUENCE, correctly signed otherwise:
 * the PCK leaf (default) or the PCK CA above it.
 */
export function pckChainWithEmptyValidity(pki: TestPki, which: 'pckLeaf' | 'pckCa' = 'pckLeaf'): string {
  return which === 'pckLeaf'
    ? pckChainPemWith(pki, { leafDer: editedPckLeaf(pki, emptyValidity) })
    : pckChainPemWith(pki, { caDer: editedPckCa(pki, emptyValidity) });
}
