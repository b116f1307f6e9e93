/**
 * A minimal, strict DER reader: just enough ASN.1 for X.509 certificates, CRLs and Intel's SGX
 * PCK extension. Definite, minimally encoded lengths only. Every accessor is total: a missing,
 * short or wrongly tagged element is a DerError whose `code` says what kind of defect it is and
 * whose message names the element; the callers turn it into the DomainError code of their step.
 */

/** What kind of defect a DerError reports (stable, for callers and tests to branch on). */
export type DerErrorCode =
  /** A header, length or value runs past the end of its container. */
  | 'truncated'
  /** An element the structure requires is absent. */
  | 'missing'
  /** An element has another tag than the structure requires there. */
  | 'wrong_tag'
  /** A high-tag-number (multi-byte) tag: nothing in X.509 as Intel uses it needs one. */
  | 'unsupported_tag'
  /** The indefinite length form, or a length of more than 3 bytes (16 MiB). */
  | 'unsupported_length'
  /** A length, INTEGER or OID arc that is not minimally encoded. */
  | 'non_minimal'
  /** Bytes after the last element. */
  | 'trailing_bytes'
  /** More elements than the structure allows. */
  | 'unexpected_element'
  /** Well-formed TLV, unacceptable contents: a time, boolean, bit string, integer or OID out of range. */
  | 'bad_value';

export class DerError extends Error {
  constructor(
    readonly code: DerErrorCode,
    /** The element the defect is in, e.g. "tbsCertificate.validity.notBefore". */
    readonly element: string,
    problem: string,
  ) {
    super(`${element}: ${problem}`);
    this.name = 'DerError';
  }
}

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_ENUMERATED = 0x0a;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;

const CONSTRUCTED = 0x20;
const HIGH_TAG_NUMBER = 0x1f;
const MAX_LENGTH_BYTES = 3;

/** Context-specific, constructed tag [n]. */
export function contextTag(n: number): number {
  return 0xa0 | n;
}

/** Context-specific, primitive tag [n] (IMPLICIT tagging of a primitive type). */
export function contextPrimitiveTag(n: number): number {
  return 0x80 | n;
}

export interface DerNode {
  tag: number;
  /** The whole TLV (tag, length and contents): what a signature over "tbsCertificate" covers. */
  encoded: Uint8Array;
  /** Contents only. */
  value: Uint8Array;
}

function hexTag(tag: number): string {
  return `0x${tag.toString(16).padStart(2, '0')}`;
}

/** bytes[index], or a 'truncated' DerError naming `element` when it is past the end. */
function byteAt(bytes: Uint8Array, index: number, element: string): number {
  const byte = bytes[index];
  if (byte === undefined) throw new DerError('truncated', element, `needs byte ${index}, has ${bytes.length}`);
  return byte;
}

/** The TLV starting at `offset`; `end` is where the next one starts. */
export function readNode(bytes: Uint8Array, offset: number, element = 'DER value'): { node: DerNode; end: number } {
  if (offset + 2 > bytes.length) throw new DerError('truncated', element, 'truncated header');
  const tag = byteAt(bytes, offset, element);
  if ((tag & HIGH_TAG_NUMBER) === HIGH_TAG_NUMBER) throw new DerError('unsupported_tag', element, 'multi-byte tags are not supported');
  const first = byteAt(bytes, offset + 1, element);
  let length = first;
  let headerLength = 2;
  if (first & 0x80) {
    const lengthBytes = first & 0x7f;
    if (lengthBytes === 0) throw new DerError('unsupported_length', element, 'indefinite length');
    if (lengthBytes > MAX_LENGTH_BYTES) throw new DerError('unsupported_length', element, `${lengthBytes}-byte length`);
    if (offset + 2 + lengthBytes > bytes.length) throw new DerError('truncated', element, 'truncated length');
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + byteAt(bytes, offset + 2 + i, element);
    // A leading zero byte, or a long form for a length that fits the short one.
    if (byteAt(bytes, offset + 2, element) === 0 || length < 0x80) throw new DerError('non_minimal', element, 'non-minimal length');
    headerLength += lengthBytes;
  }
  const end = offset + headerLength + length;
  if (end > bytes.length) {
    throw new DerError('truncated', element, `declares ${length} bytes, ${bytes.length - offset - headerLength} present`);
  }
  return {
    node: { tag, encoded: bytes.subarray(offset, end), value: bytes.subarray(offset + headerLength, end) },
    end,
  };
}

/** Exactly one TLV spanning all of `bytes` (no trailing data). */
export function parseDer(bytes: Uint8Array, element = 'DER value'): DerNode {
  const { node, end } = readNode(bytes, 0, element);
  if (end !== bytes.length) throw new DerError('trailing_bytes', element, `${bytes.length - end} bytes after the value`);
  return node;
}

/** The children of a constructed node, in order. */
export function childrenOf(node: DerNode, element = 'DER value'): DerNode[] {
  if ((node.tag & CONSTRUCTED) === 0) throw new DerError('wrong_tag', element, `${hexTag(node.tag)} is not a constructed value`);
  const children: DerNode[] = [];
  let offset = 0;
  while (offset < node.value.length) {
    const { node: child, end } = readNode(node.value, offset, `${element}[${children.length}]`);
    children.push(child);
    offset = end;
  }
  return children;
}

/**
 * Walks the children of a constructed node in order, each read naming the element it expects:
 * the only way the X.509, CRL and SGX-extension parsers reach a child, so none can be undefined.
 */
export class DerCursor {
  private readonly children: DerNode[];
  private index = 0;

  constructor(
    node: DerNode,
    /** The constructed node's own name; children are named "<element>.<child>". */
    readonly element: string,
  ) {
    this.children = childrenOf(node, element);
  }

  get done(): boolean {
    return this.index >= this.children.length;
  }

  /** The next child, which must exist and carry `tag`. */
  next(tag: number, name: string): DerNode {
    return expectTag(this.children[this.index++], tag, `${this.element}.${name}`);
  }

  /** The next child whatever its tag (the caller checks it, e.g. a CHOICE). */
  nextAny(name: string): DerNode {
    const node = this.children[this.index++];
    if (!node) throw new DerError('missing', `${this.element}.${name}`, 'missing');
    return node;
  }

  /** The next child if it carries `tag` (an OPTIONAL or DEFAULT element), else nothing is consumed. */
  optional(tag: number): DerNode | undefined {
    const node = this.children[this.index];
    if (node?.tag !== tag) return undefined;
    this.index++;
    return node;
  }

  /** Every child left, consumed. */
  rest(): DerNode[] {
    const rest = this.children.slice(this.index);
    this.index = this.children.length;
    return rest;
  }

  /** No child may be left. */
  end(): void {
    const extra = this.children[this.index];
    if (extra) {
      throw new DerError('unexpected_element', this.element, `unexpected element ${hexTag(extra.tag)} at position ${this.index}`);
    }
  }
}

export function expectTag(node: DerNode | undefined, tag: number, element: string): DerNode {
  if (!node) throw new DerError('missing', element, 'missing');
  if (node.tag !== tag) throw new DerError('wrong_tag', element, `expected tag ${hexTag(tag)}, found ${hexTag(node.tag)}`);
  return node;
}

export function decodeOid(node: DerNode, element = 'object identifier'): string {
  const bytes = expectTag(node, TAG_OID, element).value;
  if (bytes.length === 0) throw new DerError('bad_value', element, 'empty OID');
  if ((byteAt(bytes, bytes.length - 1, element) & 0x80) !== 0) throw new DerError('truncated', element, 'OID ends inside an arc');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    if (value === 0 && byte === 0x80) throw new DerError('non_minimal', element, 'non-minimal OID arc');
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('bad_value', element, 'OID arc too large');
    if ((byte & 0x80) === 0) {
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

/** A small non-negative INTEGER or ENUMERATED (SVNs, SGX type, versions). */
export function decodeSmallUnsigned(node: DerNode, tag = TAG_INTEGER, element = 'integer'): number {
  const bytes = expectTag(node, tag, element).value;
  const first = bytes[0];
  if (first === undefined) throw new DerError('bad_value', element, 'empty integer');
  if (bytes.length > 3) throw new DerError('bad_value', element, `${bytes.length}-byte integer, at most 3`);
  if (first & 0x80) throw new DerError('bad_value', element, 'negative integer');
  if (bytes.length > 1 && first === 0 && (byteAt(bytes, 1, element) & 0x80) === 0) {
    throw new DerError('non_minimal', element, 'non-minimal integer');
  }
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return value;
}

/** INTEGER contents as lowercase hex: serial numbers compare by their exact DER contents. */
export function integerHex(node: DerNode, element = 'integer'): string {
  const bytes = expectTag(node, TAG_INTEGER, element).value;
  if (bytes.length === 0) throw new DerError('bad_value', element, 'empty integer');
  return Buffer.from(bytes).toString('hex');
}

export function decodeBoolean(node: DerNode, element = 'boolean'): boolean {
  const bytes = expectTag(node, TAG_BOOLEAN, element).value;
  const byte = bytes[0];
  if (bytes.length !== 1 || (byte !== 0 && byte !== 0xff)) throw new DerError('bad_value', element, 'malformed boolean');
  return byte === 0xff;
}

/** BIT STRING with no unused bits (signatures, keys): its payload bytes. */
export function bitStringBytes(node: DerNode, element = 'bit string'): Uint8Array {
  const bytes = expectTag(node, TAG_BIT_STRING, element).value;
  if (bytes.length === 0) throw new DerError('bad_value', element, 'empty bit string');
  if (bytes[0] !== 0) throw new DerError('bad_value', element, 'bit string with unused bits');
  return bytes.subarray(1);
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** UTCTime or GeneralizedTime (RFC 5280 forms, seconds, Z) → epoch milliseconds. */
export function decodeTime(node: DerNode | undefined, element = 'time'): number {
  if (!node) throw new DerError('missing', element, 'missing');
  if (node.tag !== TAG_UTC_TIME && node.tag !== TAG_GENERALIZED_TIME) {
    throw new DerError('wrong_tag', element, `expected UTCTime or GeneralizedTime, found ${hexTag(node.tag)}`);
  }
  const text = Buffer.from(node.value).toString('latin1');
  const match = (node.tag === TAG_UTC_TIME ? UTC_TIME : GENERALIZED_TIME).exec(text);
  if (!match) throw new DerError('bad_value', element, 'malformed time');
  const [yearText, month, day, hour, minute, second] = match.slice(1).map(Number);
  if (yearText === undefined || month === undefined || day === undefined || hour === undefined || minute === undefined || second === undefined) {
    throw new DerError('bad_value', element, 'malformed time');
  }
  // RFC 5280 4.1.2.5.1: UTCTime years 50..99 are 19xx, 00..49 are 20xx.
  const year = node.tag === TAG_UTC_TIME ? (yearText < 50 ? 2000 + yearText : 1900 + yearText) : yearText;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0..99 as 1900..1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new DerError('bad_value', element, 'time out of range');
  }
  return date.getTime();
}
