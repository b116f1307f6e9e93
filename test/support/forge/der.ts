/**
 * A minimal DER writer: just the types the SGX PCK extension and a CRL number need. Written out
 * by hand because the extension is a nested list of (OID, value) pairs whose exact encoding we
 * want to mirror from real Intel PCK certificates, not whatever a schema library chooses.
 */

const TAG_BOOLEAN = 0x01;
const TAG_INTEGER = 0x02;
const TAG_OCTET_STRING = 0x04;
const TAG_OID = 0x06;
const TAG_ENUMERATED = 0x0a;
const TAG_SEQUENCE = 0x30;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

/** Minimal two's-complement big-endian bytes of a non-negative integer. */
function unsignedIntegerBytes(value: number | bigint): Buffer {
  let n = BigInt(value);
  if (n < 0n) throw new Error(`DER: negative integer ${n} not supported`);
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  // A leading 1 bit would read as negative: prefix a zero byte.
  if (bytes[0] & 0x80) bytes.unshift(0);
  return Buffer.from(bytes);
}

export function derInteger(value: number | bigint): Buffer {
  return tlv(TAG_INTEGER, unsignedIntegerBytes(value));
}

export function derEnumerated(value: number): Buffer {
  return tlv(TAG_ENUMERATED, unsignedIntegerBytes(value));
}

export function derBoolean(value: boolean): Buffer {
  return tlv(TAG_BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

export function derOctetString(value: Buffer): Buffer {
  return tlv(TAG_OCTET_STRING, value);
}

export function derSequence(items: Buffer[]): Buffer {
  return tlv(TAG_SEQUENCE, Buffer.concat(items));
}

export function derOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  if (arcs.length < 2) throw new Error(`DER: OID ${dotted} needs at least two arcs`);
  const body: number[] = [];
  const pushBase128 = (arc: bigint): void => {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) chunk.unshift(Number(rest & 0x7fn) | 0x80);
    body.push(...chunk);
  };
  pushBase128(arcs[0] * 40n + arcs[1]);
  arcs.slice(2).forEach(pushBase128);
  return tlv(TAG_OID, Buffer.from(body));
}
