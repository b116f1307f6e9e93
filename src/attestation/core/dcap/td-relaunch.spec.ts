/**
 * Issue 12, item 5: Intel's TD relaunch statuses (QVL TDRelaunchCheck.cpp checkForRelaunch). A TD
 * report 1.5 TD launched on an out-of-date TDX module (TEE_TCB_SVN) on a platform since updated in
 * place to the latest module (TEE_TCB_SVN2) is TDRelaunchAdvised, not OutOfDate. Quotes and
 * collateral from the forge: its TDX_01 module identity rates module SVN >= 4 UpToDate, 2..3
 * OutOfDate; its platform level needs TDX late microcode (byte 2) >= 3.
 */
import { QuoteVerifier as OracleVerifier } from '@phala/dcap-qvl';
import { createForge, Forge } from '../../../../test/support/forge';
import type { CollateralOptions } from '../../../../test/support/forge/collateral';
import type { ForgeQuoteOptions } from '../../../../test/support/forge/quote';
import { DomainError } from '../../../common/errors';
import { QuoteVerifier } from './quote-verifier';

const NOW = new Date('2026-03-01T00:00:00Z');
const svn = (...bytes: number[]) => Buffer.from([...bytes, ...new Array<number>(16 - bytes.length).fill(0)]);
/** Launched on module SVN 3 (OutOfDate), updated in place to SVN 6 (the latest). */
const LAUNCHED_OLD = svn(3, 1, 3);
const UPDATED = svn(6, 1, 3);
const v15 = (teeTcbSvn: Buffer, teeTcbSvn2: Buffer): ForgeQuoteOptions => ({ version: 5, tdReport: '1.5', teeTcbSvn, teeTcbSvn2 });

let forge: Forge;
beforeAll(async () => {
  forge = await createForge({ now: NOW, pki: { seed: 'td-relaunch' } });
});

async function statusOf(quote: ForgeQuoteOptions, collateralOptions?: CollateralOptions): Promise<string> {
  const collateral = collateralOptions ? await forge.collateralWith(collateralOptions) : forge.collateral;
  try {
    return new QuoteVerifier(forge.rootCaDer).verify(forge.quote(quote), collateral, NOW).tcbStatus;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

describe('TDRelaunchAdvised (Intel QVL checkForRelaunch)', () => {
  it.each([
    ['TD report 1.5, module updated in place to the latest', 'TDRelaunchAdvised', v15(LAUNCHED_OLD, UPDATED), undefined],
    [
      '…with a ConfigurationNeeded platform and the latest microcode',
      'TDRelaunchAdvisedConfigurationNeeded',
      v15(LAUNCHED_OLD, svn(6, 1, 4)),
      { tcbStatus: 'ConfigurationNeeded' },
    ],
    [
      '…ConfigurationNeeded, TEE_TCB_SVN2 below the latest level’s microcode',
      'OutOfDateConfigurationNeeded',
      v15(LAUNCHED_OLD, svn(6, 1, 3)),
      { tcbStatus: 'ConfigurationNeeded' },
    ],
    ['not updated (TEE_TCB_SVN2 = TEE_TCB_SVN)', 'OutOfDate', v15(LAUNCHED_OLD, LAUNCHED_OLD), undefined],
    ['updated, but not to the latest module level', 'OutOfDate', v15(LAUNCHED_OLD, svn(3, 1, 3)), undefined],
    ['updated, but the QE is OutOfDate', 'OutOfDate', v15(LAUNCHED_OLD, UPDATED), { qeTcbStatus: 'OutOfDate' }],
    ['TD report 1.0 carries no TEE_TCB_SVN2', 'OutOfDate', { version: 5, tdReport: '1.0', teeTcbSvn: LAUNCHED_OLD }, undefined],
    ['a v4 quote neither', 'OutOfDate', { teeTcbSvn: LAUNCHED_OLD }, undefined],
    ['an up-to-date TD stays UpToDate', 'UpToDate', v15(UPDATED, UPDATED), undefined],
    ['TEE_TCB_SVN2 names a module version without identity (Intel: TDX_MODULE_MISMATCH)', 'TCB_LEVEL_NOT_FOUND', v15(LAUNCHED_OLD, svn(6, 2, 3)), undefined],
  ] as [string, string, ForgeQuoteOptions, CollateralOptions | undefined][])('%s → %s', async (_name, expected, quote, collateral) => {
    expect(await statusOf(quote, collateral)).toBe(expected);
  });

  it('refuses a signed TCB level that claims a relaunch status (a verdict, never a level)', async () => {
    expect(await statusOf({}, { tcbStatus: 'TDRelaunchAdvised' as never })).toBe('COLLATERAL_INVALID');
  });

  it('known, deliberate difference: @phala/dcap-qvl 0.3.9 has no relaunch rule (it answers OutOfDate)', () => {
    const oracle = OracleVerifier.newWithRootCa(forge.rootCaDer).verify(forge.quote(v15(LAUNCHED_OLD, UPDATED)), forge.collateral, NOW.getTime() / 1000);
    expect(oracle.status).toBe('OutOfDate');
  });
});
