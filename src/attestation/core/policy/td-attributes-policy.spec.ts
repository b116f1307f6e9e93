/**
 * Issue 12, item 3: TD attributes beyond DEBUG. Forged quotes carry the attributes; the policy
 * reads TDATTRIBUTES as a little-endian 64-bit value, refuses any bit of the mask (default
 * 0x200000ff: DEBUG, TUD 1..7, MIGRATABLE) and any non-zero MRSERVICETD not explicitly allowed.
 */
import { createForge, Forge } from '../../../../test/support/forge';
import type { ForgeQuoteOptions } from '../../../../test/support/forge/quote';
import { parseTdxQuote } from '../quote/tdx-quote.parser';
import { DEFAULT_TD_ATTRIBUTES_REFUSED, evaluateTdAttributesPolicy, TdAttributesPolicy } from './td-attributes-policy';

const DEFAULTS: TdAttributesPolicy = { refusedMask: DEFAULT_TD_ATTRIBUTES_REFUSED, mrServiceTdAllowed: [] };
const SERVICE_TD = 'ab'.repeat(48);

/** TDATTRIBUTES bytes (little-endian) with SEPT_VE_DISABLE (bit 28) and the given bits set. */
function attributes(...bits: number[]): Buffer {
  let value = 1n << 28n;
  for (const bit of bits) value |= 1n << BigInt(bit);
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  return bytes;
}

let forge: Forge;
beforeAll(async () => {
  forge = await createForge({ now: new Date('2026-03-01T00:00:00Z') });
});

function evaluate(options: ForgeQuoteOptions, policy: TdAttributesPolicy = DEFAULTS) {
  return evaluateTdAttributesPolicy(parseTdxQuote(forge.quote(options)).body, policy);
}

describe('TD_ATTRIBUTES_REFUSED (default 0x200000ff)', () => {
  it.each([
    ['a production TD (SEPT_VE_DISABLE only)', [], true, undefined, []],
    ['DEBUG alone: DEBUG_TD', [0], false, 'DEBUG_TD', [0]],
    ['MIGRATABLE (bit 29)', [29], false, 'TD_ATTRIBUTES_REFUSED', [29]],
    ['a TUD bit (3)', [3], false, 'TD_ATTRIBUTES_REFUSED', [3]],
    ['TUD bit 7', [7], false, 'TD_ATTRIBUTES_REFUSED', [7]],
    ['DEBUG and MIGRATABLE: not DEBUG alone', [0, 29], false, 'TD_ATTRIBUTES_REFUSED', [0, 29]],
    ['PKS (bit 30) is not refused by default', [30], true, undefined, []],
    ['PERFMON (bit 63) is not refused by default', [63], true, undefined, []],
  ] as [string, number[], boolean, string | undefined, number[]][])('%s', (_name, bits, accepted, code, refusedBits) => {
    const verdict = evaluate({ tdAttributes: attributes(...bits) });
    expect({ accepted: verdict.accepted, code: verdict.code, refusedBits: verdict.refusedBits }).toEqual({ accepted, code, refusedBits });
  });

  it('reads the field little-endian: MIGRATABLE is byte 3, 0x20', () => {
    const verdict = evaluate({ tdAttributes: attributes(29) });
    expect(verdict.attributes).toBe('0x0000000030000000');
    expect(attributes(29).toString('hex')).toBe('0000003000000000');
  });

  it('refuses whatever the configured mask names', () => {
    const strict: TdAttributesPolicy = { ...DEFAULTS, refusedMask: DEFAULT_TD_ATTRIBUTES_REFUSED | (1n << 30n) };
    expect(evaluate({ tdAttributes: attributes(30) }, strict)).toMatchObject({ accepted: false, code: 'TD_ATTRIBUTES_REFUSED', refusedBits: [30] });
  });
});

describe('MRSERVICETD (TD report 1.5)', () => {
  const v15 = (mrservicetd: string, bits: number[] = []): ForgeQuoteOptions => ({
    version: 5,
    tdReport: '1.5',
    mrservicetd,
    tdAttributes: attributes(...bits),
  });

  it('accepts zero', () => {
    expect(evaluate(v15('00'.repeat(48)))).toMatchObject({ accepted: true, mrServiceTd: { value: '00'.repeat(48), accepted: true } });
  });

  it('refuses a service TD not in MRSERVICETD_ALLOWED', () => {
    expect(evaluate(v15(SERVICE_TD))).toMatchObject({
      accepted: false,
      code: 'TD_ATTRIBUTES_REFUSED',
      refusedBits: [],
      mrServiceTd: { value: SERVICE_TD, accepted: false },
    });
  });

  it('accepts a listed service TD', () => {
    expect(evaluate(v15(SERVICE_TD), { ...DEFAULTS, mrServiceTdAllowed: [SERVICE_TD] })).toMatchObject({ accepted: true });
  });

  it('DEBUG with a refused service TD is not "DEBUG alone"', () => {
    expect(evaluate(v15(SERVICE_TD, [0]))).toMatchObject({ accepted: false, code: 'TD_ATTRIBUTES_REFUSED' });
  });

  it('TD report 1.0 has no MRSERVICETD to judge', () => {
    expect(evaluate({ version: 5, tdReport: '1.0' }).mrServiceTd).toBeUndefined();
  });
});
