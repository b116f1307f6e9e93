import { createForge } from '../../../test/support/forge';
import { loadFixtureQuote } from '../../../test/vectors/dcap-fixture';
import { parseTdxQuote } from '../core/quote';
import { platformOf } from './collateral.service';

describe('platformOf', () => {
  it('reads FMSPC and the Platform CA from the real Intel quote', () => {
    expect(platformOf(parseTdxQuote(loadFixtureQuote()))).toEqual({ fmspc: 'b0c06f000000', ca: 'platform' });
  });

  it.each(['platform', 'processor'] as const)('tells a PCK leaf issued by the %s CA', async (kind) => {
    const forge = await createForge({ now: new Date('2026-03-01T00:00:00Z'), pki: { pckCaKind: kind } });
    expect(platformOf(parseTdxQuote(forge.quote()))).toEqual({ fmspc: forge.fmspc.toLowerCase(), ca: kind });
  });
});
