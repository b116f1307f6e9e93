/**
 * A minimal, strict DER reader: just enough ASN.1 for X.509 certificates, CRLs and Intel's SGX
 * PCK extension. Definite, minimally encoded lengths only; anything else is a DerError, which the
 * callers turn into the DomainError code of the step they are in.
 */

export class DerError extends Error {}

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_ENUMERATED = 0x0a;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;

/** Context-specific, constructed tag [n]. */
export function contextTag(n: number): number {
  return 0xa0 | n;
}

export interface DerNode {
  tag: number;
  /** The whole TLV (tag, length and contents): what a signature over "tbsCertificate" covers. */
  encoded: Uint8Array;
  /** Contents only. */
  value: Uint8Array;
}

/** The TLV starting at `offset`; `end` is where the next one starts. */
export function readNode(bytes: Uint8Array, offset: number): { node: DerNode; end: number } {
  if (offset + 2 > bytes.length) throw new DerError('truncated DER header');
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let length = bytes[offset + 1];
  let headerLength = 2;
  if (length & 0x80) {
    const lengthBytes = length & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 3) throw new DerError('unsupported DER length form');
    if (offset + 2 + lengthBytes > bytes.length) throw new DerError('truncated DER length');
    if (bytes[offset + 2] === 0) throw new DerError('non-minimal DER length');
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + bytes[offset + 2 + i];
    if (length < 0x80) throw new DerError('non-minimal DER length');
    headerLength += lengthBytes;
  }
  const end = offset + headerLength + length;
  if (end > bytes.length) throw new DerError('DER value runs past its container');
  return {
    node: { tag, encoded: bytes.subarray(offset, end), value: bytes.subarray(offset + headerLength, end) },
    end,
  };
}

/** Exactly one TLV spanning all of `bytes` (no trailing data). */
export function parseDer(bytes: Uint8Array): DerNode {
  const { node, end } = readNode(bytes, 0);
  if (end !== bytes.length) throw new DerError('trailing bytes after DER value');
  return node;
}

/** The children of a constructed node, in order. */
export function childrenOf(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError('expected a constructed DER value');
  const children: DerNode[] = [];
  let offset = 0;
  while (offset < node.value.length) {
    const { node: child, end } = readNode(node.value, offset);
    children.push(child);
    offset = end;
  }
  return children;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return node;
}

export function decodeOid(node: DerNode): string {
  expectTag(node, TAG_OID, 'object identifier');
  const bytes = node.value;
  if (bytes.length === 0 || (bytes[bytes.length - 1] & 0x80) !== 0) throw new DerError('malformed OID');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (value === 0 && bytes[i] === 0x80) throw new DerError('non-minimal OID arc');
    value = value * 128 + (bytes[i] & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OID arc too large');
    if ((bytes[i] & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    }
  }
  return arcs.join('.');
}

/** A small non-negative INTEGER or ENUMERATED (SVNs, SGX type). */
export function decodeSmallUnsigned(node: DerNode, tag = TAG_INTEGER): number {
  expectTag(node, tag, 'integer');
  const bytes = node.value;
  if (bytes.length === 0 || bytes.length > 3) throw new DerError('integer length out of range');
  if (bytes[0] & 0x80) throw new DerError('negative integer');
  if (bytes.length > 1 && bytes[0] === 0 && (bytes[1] & 0x80) === 0) throw new DerError('non-minimal integer');
  let value = 0;
  for (const b of bytes) value = value * 256 + b;
  return value;
}

/** INTEGER contents as lowercase hex: serial numbers compare by their exact DER contents. */
export function integerHex(node: DerNode): string {
  expectTag(node, TAG_INTEGER, 'integer');
  if (node.value.length === 0) throw new DerError('empty integer');
  return Buffer.from(node.value).toString('hex');
}

export function decodeBoolean(node: DerNode): boolean {
  expectTag(node, TAG_BOOLEAN, 'boolean');
  if (node.value.length !== 1 || (node.value[0] !== 0 && node.value[0] !== 0xff)) throw new DerError('malformed boolean');
  return node.value[0] === 0xff;
}

/** BIT STRING with no unused bits (signatures, keys): its payload bytes. */
export function bitStringBytes(node: DerNode): Uint8Array {
  expectTag(node, TAG_BIT_STRING, 'bit string');
  if (node.value.length === 0 || node.value[0] !== 0) throw new DerError('bit string with unused bits');
  return node.value.subarray(1);
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** UTCTime or GeneralizedTime (RFC 5280 forms, seconds, Z) → epoch milliseconds. */
export function decodeTime(node: DerNode): number {
  const text = Buffer.from(node.value).toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (node.tag === TAG_UTC_TIME && (match = UTC_TIME.exec(text))) {
    const yy = Number(match[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy; // RFC 5280 4.1.2.5.1
  } else if (node.tag === TAG_GENERALIZED_TIME && (match = GENERALIZED_TIME.exec(text))) {
    year = Number(match[1]);
  } else {
    throw new DerError('malformed time');
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new DerError('time out of range');
  }
  return ms;
}
