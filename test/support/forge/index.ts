/**
 * The test-quote forge's high-level API: one call sets up a test PKI and matching collateral;
 * then `forge.quote({...})` returns quotes with chosen contents that a DCAP verifier pinned to
 * `forge.rootCaDer` accepts at `forge.now`.
 *
 *   const forge = await createForge({ now: new Date('2025-07-01T00:00:00Z') });
 *   const quote = forge.quote({ reportData, mrtd, rtmrs: { rtmr0, rtmr1, rtmr2 } });
 *   new QuoteVerifier(forge.rootCaDer).verify(quote, forge.collateral, forge.nowSecs);
 */
import { CollateralOptions, collateralFmspc, createCollateral, QuoteCollateralV3, writeCollateralFile } from './collateral';
import { forgeQuote, ForgeQuoteOptions } from './quote';
import { createTestPki, TestPki, TestPkiOptions } from './test-pki';

export * from './collateral';
export * from './quote';
export * from './test-pki';
export * from './der-edit';
export * from './forge-defaults';
export * as tdx from './tdx-constants';

export interface CreateForgeOptions extends CollateralOptions {
  /** An existing PKI, or options for one (cached per process). Default: this process's random PKI. */
  pki?: TestPki | TestPkiOptions;
}

export interface Forge {
  /** The time the collateral was built around (issued one day before, valid 30 days). */
  readonly now: Date;
  /** `now` in whole seconds, the unit dcap-qvl's verify() takes. */
  readonly nowSecs: number;
  readonly pki: TestPki;
  readonly rootCaDer: Buffer;
  readonly rootCaPem: string;
  readonly collateral: QuoteCollateralV3;
  /** FMSPC of the collateral, uppercase hex. */
  readonly fmspc: string;
  /** A quote signed through this PKI. */
  quote(options?: ForgeQuoteOptions): Buffer;
  /** Another bundle from the same PKI, e.g. another TCB status; `now` defaults to the forge's. */
  collateralWith(options: CollateralOptions): Promise<QuoteCollateralV3>;
  /** Writes this forge's collateral as a `*.json` bundle into a COLLATERAL_DIR; returns the path. */
  writeCollateral(dir: string, name?: string): string;
}

export async function createForge(options: CreateForgeOptions = {}): Promise<Forge> {
  const { pki: pkiOption, ...collateralOptions } = options;
  const pki = isTestPki(pkiOption) ? pkiOption : await createTestPki(pkiOption);
  const now = new Date(Math.floor((options.now ?? new Date()).getTime() / 1000) * 1000);
  const collateral = await createCollateral(pki, { ...collateralOptions, now });
  return {
    now,
    nowSecs: now.getTime() / 1000,
    pki,
    rootCaDer: pki.root.der,
    rootCaPem: pki.root.pem,
    collateral,
    fmspc: collateralFmspc(collateral),
    quote: (quoteOptions) => forgeQuote(pki, quoteOptions),
    collateralWith: (other) => createCollateral(pki, { now, ...other }),
    writeCollateral: (dir, name) => writeCollateralFile(dir, collateral, name),
  };
}

function isTestPki(value: TestPki | TestPkiOptions | undefined): value is TestPki {
  return value !== undefined && 'pckLeaf' in value && 'root' in value;
}
