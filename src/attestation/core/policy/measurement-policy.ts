/**
 * Which registered measurement set a TD is — pure data in, verdict out. A boot quote is matched
 * on MRTD + RTMR0..2 against `boot_rtmrs` (plus RTMR3 when a set lists it), a runtime quote on
 * MRTD + RTMR0..3 against `runtime_rtmrs`. Hex compares case-insensitively. Deny by default:
 * no set, no match.
 */

import { toHex, type TdxQuote } from '../quote';

export type MeasurementKind = 'boot' | 'runtime';
export type RegisterName = 'mrtd' | 'rtmr0' | 'rtmr1' | 'rtmr2' | 'rtmr3';

export interface MeasurementSetPolicy {
  name: string;
  version: string;
  mrtd: string;
  bootRtmrs: Partial<Record<'rtmr0' | 'rtmr1' | 'rtmr2' | 'rtmr3', string>>;
  runtimeRtmrs: Partial<Record<'rtmr0' | 'rtmr1' | 'rtmr2' | 'rtmr3', string>>;
}

export type TdMeasurements = Record<RegisterName, string>;

/** A quote's MRTD and RTMR0..3 as lowercase hex, the input of the measurement policy. */
export function tdMeasurements(quote: TdxQuote): TdMeasurements {
  const body = quote.body;
  return { mrtd: toHex(body.mrTd), rtmr0: toHex(body.rtmr0), rtmr1: toHex(body.rtmr1), rtmr2: toHex(body.rtmr2), rtmr3: toHex(body.rtmr3) };
}

export interface RegisterVerdict {
  register: RegisterName;
  expected: string;
  actual: string;
  match: boolean;
}

export type MeasurementVerdict =
  | { matched: true; name: string; version: string; registers: RegisterVerdict[] }
  | {
      matched: false;
      /** The set that differs in the fewest registers, and how — for the audit row, never the VM. */
      nearest: { name: string; version: string; registers: RegisterVerdict[] } | null;
    };

const REQUIRED: Record<MeasurementKind, RegisterName[]> = {
  boot: ['mrtd', 'rtmr0', 'rtmr1', 'rtmr2'],
  runtime: ['mrtd', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'],
};

function expectedRegisters(set: MeasurementSetPolicy, kind: MeasurementKind): [RegisterName, string | undefined][] {
  const rtmrs = kind === 'boot' ? set.bootRtmrs : set.runtimeRtmrs;
  const names = [...REQUIRED[kind]];
  if (kind === 'boot' && rtmrs.rtmr3 !== undefined) names.push('rtmr3');
  return names.map((name) => [name, name === 'mrtd' ? set.mrtd : rtmrs[name]]);
}

function compare(set: MeasurementSetPolicy, td: TdMeasurements, kind: MeasurementKind): RegisterVerdict[] {
  return expectedRegisters(set, kind).map(([register, expected]) => {
    const want = (expected ?? '').toLowerCase();
    const actual = td[register].toLowerCase();
    // A set missing a required register can never match (deny by default).
    return { register, expected: want, actual, match: want.length > 0 && want === actual };
  });
}

export function evaluateMeasurementPolicy(td: TdMeasurements, sets: MeasurementSetPolicy[], kind: MeasurementKind): MeasurementVerdict {
  let nearest: { name: string; version: string; registers: RegisterVerdict[]; misses: number } | null = null;
  for (const set of sets) {
    const registers = compare(set, td, kind);
    const misses = registers.filter((r) => !r.match).length;
    if (misses === 0) return { matched: true, name: set.name, version: set.version, registers };
    if (!nearest || misses < nearest.misses) nearest = { name: set.name, version: set.version, registers, misses };
  }
  return { matched: false, nearest: nearest && { name: nearest.name, version: nearest.version, registers: nearest.registers } };
}
