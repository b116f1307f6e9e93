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

/** The FMSPC (lowercase hex) named inside a bundle's TCB info. */
export function collateralFmspc(bundle: QuoteCollateral): string {
  const fmspc = (JSON.parse(bundle.tcb_info) as { fmspc?: unknown }).fmspc;
  if (typeof fmspc !== 'string' || !/^[0-9a-fA-F]{12}$/.test(fmspc)) throw new CollateralFetchError('collateral TCB info has no valid fmspc');
  return fmspc.toLowerCase();
}
