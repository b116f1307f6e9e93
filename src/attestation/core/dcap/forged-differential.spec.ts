/**
 * Differential oracle on forged quotes: for every case the forge can make — accepted ones with
 * several TCB statuses and layouts, and deliberately broken ones — our verifier and
 * @phala/dcap-qvl (both pinned to the forge's root CA) agree on accept/reject and TCB status.
 * Debug TDs are left out: dcap-qvl refuses them itself, ours leaves that to the policy layer.
 */
import { QuoteVerifier as OracleVerifier } from '@phala/dcap-qvl';
import { createForge, Forge } from '../../../../test/support/forge';
import type { ForgeQuoteOptions } from '../../../../test/support/forge/quote';
import { DomainError } from '../../../common/errors';
import { QuoteVerifier } from './quote-verifier';

const NOW = new Date('2026-03-01T00:00:00Z');

type Case = [string, ForgeQuoteOptions, { tcbStatus?: string; advisoryIds?: string[]; revokePckLeaf?: boolean; atOffsetDays?: number }];

const cases: Case[] = [
  ['v4 UpToDate', {}, {}],
  ['v5 TD report 1.0', { version: 5, tdReport: '1.0' }, {}],
  ['v5 TD report 1.5', { version: 5, tdReport: '1.5' }, {}],
  ['v4 with 70 padding bytes', { trailingBytes: 70 }, {}],
  ['SWHardeningNeeded with advisories', {}, { tcbStatus: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'] }],
  ['OutOfDate', {}, { tcbStatus: 'OutOfDate', advisoryIds: ['INTEL-SA-00837'] }],
  ['ConfigurationNeeded', {}, { tcbStatus: 'ConfigurationNeeded' }],
  ['bad quote signature', { tamper: { quoteSignature: true } }, {}],
  ['body changed after signing', { tamper: { bodyAfterSigning: true } }, {}],
  ['bad QE report signature', { tamper: { qeReportSignature: true } }, {}],
  ['QE report data not binding the key', { tamper: { qeReportData: true } }, {}],
  ['revoked PCK leaf', {}, { revokePckLeaf: true }],
  ['collateral not yet valid', {}, { atOffsetDays: -3 }],
  ['collateral expired', {}, { atOffsetDays: 40 }],
];

describe('forged quotes: ours and @phala/dcap-qvl agree', () => {
  let forge: Forge;
  beforeAll(async () => {
    forge = await createForge({ now: NOW, pki: { seed: 'differential' } });
  });

  it.each(cases)('%s', async (_name, quoteOptions, collateralOptions) => {
    const { atOffsetDays, ...bundleOptions } = collateralOptions;
    const collateral = Object.keys(bundleOptions).length > 0 ? await forge.collateralWith(bundleOptions as never) : forge.collateral;
    const quote = forge.quote(quoteOptions);
    const now = new Date(NOW.getTime() + (atOffsetDays ?? 0) * 86400_000);

    let ours: string;
    try {
      ours = new QuoteVerifier(forge.rootCaDer).verify(quote, collateral, now).tcbStatus;
    } catch (error) {
      // Only a typed refusal is a rejection; a crash (TypeError, RangeError, ...) is a bug.
      if (!(error instanceof DomainError)) throw error;
      ours = `rejected:${error.code}`;
    }
    let oracle: string;
    try {
      oracle = OracleVerifier.newWithRootCa(forge.rootCaDer).verify(quote, collateral, Math.floor(now.getTime() / 1000)).status;
    } catch {
      oracle = 'rejected';
    }
    expect({ ours: ours.startsWith('rejected') ? 'rejected' : ours, oracle }).toEqual({ ours: oracle.startsWith('rejected') ? 'rejected' : oracle, oracle });
    if (collateralOptions.tcbStatus && !ours.startsWith('rejected')) expect(ours).toBe(collateralOptions.tcbStatus);
  });
});
