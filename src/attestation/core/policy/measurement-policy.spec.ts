import { evaluateMeasurementPolicy, MeasurementSetPolicy, TdMeasurements } from './measurement-policy';
import { evaluateDebugPolicy, evaluateTcbPolicy } from './tcb-policy';

const hex = (byte: string) => byte.repeat(48);
const td: TdMeasurements = { mrtd: hex('aa'), rtmr0: hex('00'), rtmr1: hex('01'), rtmr2: hex('02'), rtmr3: hex('03') };

function set(version: string, overrides: Partial<MeasurementSetPolicy> = {}): MeasurementSetPolicy {
  return {
    name: `set-${version}`,
    version,
    mrtd: hex('AA'),
    bootRtmrs: { rtmr0: hex('00'), rtmr1: hex('01'), rtmr2: hex('02') },
    runtimeRtmrs: { rtmr0: hex('00'), rtmr1: hex('01'), rtmr2: hex('02'), rtmr3: hex('03') },
    ...overrides,
  };
}

describe('evaluateMeasurementPolicy', () => {
  const cases: [string, MeasurementSetPolicy[], 'boot' | 'runtime', string | null][] = [
    ['boot match, hex case-insensitive', [set('1')], 'boot', '1'],
    ['runtime match', [set('1')], 'runtime', '1'],
    ['no sets: deny', [], 'boot', null],
    ['boot ignores RTMR3 unless the set lists it', [set('1', { runtimeRtmrs: {} })], 'boot', '1'],
    ['boot checks an RTMR3 the set lists', [set('1', { bootRtmrs: { rtmr0: hex('00'), rtmr1: hex('01'), rtmr2: hex('02'), rtmr3: hex('ff') } })], 'boot', null],
    ['runtime needs RTMR3', [set('1', { runtimeRtmrs: { rtmr0: hex('00'), rtmr1: hex('01'), rtmr2: hex('02') } })], 'runtime', null],
    ['second set matches', [set('1', { mrtd: hex('bb') }), set('2')], 'boot', '2'],
    ['set missing a register never matches', [set('1', { bootRtmrs: { rtmr0: hex('00'), rtmr1: hex('01') } })], 'boot', null],
  ];
  it.each(cases)('%s', (_name, sets, kind, expected) => {
    const verdict = evaluateMeasurementPolicy(td, sets, kind);
    expect(verdict.matched ? verdict.version : null).toBe(expected);
  });

  it('names the nearest set and each differing register on a miss', () => {
    const verdict = evaluateMeasurementPolicy(
      td,
      [
        set('far', { mrtd: hex('bb'), bootRtmrs: { rtmr0: hex('09'), rtmr1: hex('01'), rtmr2: hex('02') } }),
        set('near', { bootRtmrs: { rtmr0: hex('00'), rtmr1: hex('01'), rtmr2: hex('0f') } }),
      ],
      'boot',
    );
    expect(verdict.matched).toBe(false);
    if (verdict.matched) return;
    expect(verdict.nearest?.version).toBe('near');
    expect(verdict.nearest?.registers.filter((r) => !r.match)).toEqual([{ register: 'rtmr2', expected: hex('0f'), actual: hex('02'), match: false }]);
  });
});

describe('TCB and debug policy', () => {
  it('accepts only the configured statuses', () => {
    expect(evaluateTcbPolicy('UpToDate', ['UpToDate']).accepted).toBe(true);
    expect(evaluateTcbPolicy('OutOfDate', ['UpToDate']).accepted).toBe(false);
    expect(evaluateTcbPolicy('SWHardeningNeeded', ['UpToDate', 'SWHardeningNeeded']).accepted).toBe(true);
  });
  it('refuses debug TDs', () => {
    expect(evaluateDebugPolicy(true).accepted).toBe(false);
    expect(evaluateDebugPolicy(false).accepted).toBe(true);
  });
});
