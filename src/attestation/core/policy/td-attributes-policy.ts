/**
 * TD attributes policy (DESIGN boot check 6): no bit of TD_ATTRIBUTES_REFUSED may be set in the
 * TD's TDATTRIBUTES (read as a 64-bit little-endian integer), and a TD report 1.5 MRSERVICETD must
 * be zero or listed in MRSERVICETD_ALLOWED. Default refused mask 0x200000ff:
 *  - bit 0 DEBUG: the host can read and change the TD's memory;
 *  - bits 1..7 (TUD, reserved for debug-like features): nothing a production TD sets;
 *  - bit 29 MIGRATABLE: the TD's state can be exported to another platform, beyond this quote's
 *    attestation (the destination is not what was attested).
 * An MRSERVICETD names service TDs (e.g. a migration TD) bound to this TD, which can act on it.
 */

export const TD_ATTRIBUTES_DEBUG_BIT = 0;
export const DEFAULT_TD_ATTRIBUTES_REFUSED = 0x200000ffn;

export interface TdAttributesPolicy {
  refusedMask: bigint;
  /** Lowercase hex (96 digits) of each accepted non-zero MRSERVICETD. */
  mrServiceTdAllowed: readonly string[];
}

export interface TdAttributesInput {
  tdAttributes: Uint8Array; // 8
  /** TD report 1.5 only. */
  mrServiceTd?: Uint8Array; // 48
}

export interface TdAttributesVerdict {
  accepted: boolean;
  /** Set when refused: DEBUG_TD when the DEBUG bit is the only reason, else TD_ATTRIBUTES_REFUSED. */
  code?: 'DEBUG_TD' | 'TD_ATTRIBUTES_REFUSED';
  /** TDATTRIBUTES as a little-endian 64-bit value, 0x + 16 lowercase hex digits. */
  attributes: string;
  /** Refused bits that are set, ascending. */
  refusedBits: number[];
  /** Present for TD report 1.5: the MRSERVICETD and whether it passes. */
  mrServiceTd?: { value: string; accepted: boolean };
}

/** The 8 TDATTRIBUTES bytes as the little-endian integer the TDX spec defines. */
export function tdAttributesValue(bytes: Uint8Array): bigint {
  if (bytes.length !== 8) throw new RangeError('TDATTRIBUTES is 8 bytes');
  return Buffer.from(bytes).readBigUInt64LE(0);
}

export function evaluateTdAttributesPolicy(td: TdAttributesInput, policy: TdAttributesPolicy): TdAttributesVerdict {
  const value = tdAttributesValue(td.tdAttributes);
  const refused = value & policy.refusedMask;
  const refusedBits: number[] = [];
  for (let bit = 0; bit < 64; bit++) if ((refused >> BigInt(bit)) & 1n) refusedBits.push(bit);
  const verdict: TdAttributesVerdict = { accepted: true, attributes: `0x${value.toString(16).padStart(16, '0')}`, refusedBits };
  let mrServiceTdRefused = false;
  if (td.mrServiceTd) {
    const hex = Buffer.from(td.mrServiceTd).toString('hex');
    const accepted = td.mrServiceTd.every((byte) => byte === 0) || policy.mrServiceTdAllowed.includes(hex);
    verdict.mrServiceTd = { value: hex, accepted };
    mrServiceTdRefused = !accepted;
  }
  if (refusedBits.length === 0 && !mrServiceTdRefused) return verdict;
  const debugAlone = !mrServiceTdRefused && refusedBits.length === 1 && refusedBits[0] === TD_ATTRIBUTES_DEBUG_BIT;
  return { ...verdict, accepted: false, code: debugAlone ? 'DEBUG_TD' : 'TD_ATTRIBUTES_REFUSED' };
}
