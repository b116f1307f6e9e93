/**
 * Where DCAP collateral comes from. One method: the bundle for a platform (FMSPC) whose PCK
 * certificate was issued by the given PCK CA. Sources throw CollateralFetchError when they
 * cannot answer; the CollateralService decides what that means (cache, grace, 503).
 */
import type { QuoteCollateral } from '../core/dcap';

export type PckCaType = 'platform' | 'processor';

export interface CollateralSource {
  readonly name: string;
  fetch(fmspc: string, ca: PckCaType): Promise<QuoteCollateral>;
}

export class CollateralFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CollateralFetchError';
  }
}

/** When a bundle stops being fresh: the earliest nextUpdate of its TCB info and QE identity. */
export function collateralNextUpdate(bundle: QuoteCollateral): Date {
  const tcb = (JSON.parse(bundle.tcb_info) as { nextUpdate?: string }).nextUpdate;
  const qe = (JSON.parse(bundle.qe_identity) as { nextUpdate?: string }).nextUpdate;
  const times = [tcb, qe].map((value) => Date.parse(value ?? '')).filter((ms) => Number.isFinite(ms));
  if (times.length < 2) throw new CollateralFetchError('collateral has no nextUpdate in its TCB info or QE identity');
  return new Date(Math.min(...times));
}

/** The FMSPC (lowercase hex) named inside a bundle's TCB info. */
export function collateralFmspc(bundle: QuoteCollateral): string {
  const fmspc = (JSON.parse(bundle.tcb_info) as { fmspc?: unknown }).fmspc;
  if (typeof fmspc !== 'string' || !/^[0-9a-fA-F]{12}$/.test(fmspc)) throw new CollateralFetchError('collateral TCB info has no valid fmspc');
  return fmspc.toLowerCase();
}
