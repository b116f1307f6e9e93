/**
 * Measurement matching inside the appraisal: release-candidate gating by proven hotkey, the
 * (name, version) identity of the matched set, and TEE_MINIMUM_BOOT_VERSION. The sets service and
 * DCAP are stand-ins (DCAP has its own tests); quotes are forged and parsed for real.
 */
import { encodeAddress, decodeAddress, cryptoWaitReady } from '@polkadot/util-crypto';
import { Keyring } from '@polkadot/keyring';
import { createForge, Forge } from '../../test/support/forge';
import { DomainError, ErrorCode } from '../common/errors';
import { loadConfig } from '../config/app-config';
import type { MeasurementSet } from '../measurements/measurement-set.types';
import type { MeasurementSetsService } from '../measurements/measurement-sets.service';
import { parseTdxQuote } from './core/quote';
import { AppraisalRequest, emptyAppraisalRecord, QuoteAppraisalService } from './quote-appraisal.service';
import type { QuoteVerificationService } from './quote-verification.service';

const reg = (byte: string) => byte.repeat(48);
const NONCE = Buffer.alloc(32, 7);
const KEY_HASH = 'ab'.repeat(32);

let forge: Forge;
let alice: string;
let bob: string;

beforeAll(async () => {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  alice = keyring.addFromUri('//Alice').address;
  bob = keyring.addFromUri('//Bob').address;
  forge = await createForge({ now: new Date('2026-03-01T00:00:00Z') });
});

function set(name: string, version: string, mrtd: string, extra: Partial<MeasurementSet> = {}): MeasurementSet {
  const rtmrs = { rtmr0: reg('b0'), rtmr1: reg('b1'), rtmr2: reg('b2') };
  return {
    id: `${name}-${version}`,
    name,
    version,
    mrtd,
    bootRtmrs: rtmrs,
    runtimeRtmrs: { ...rtmrs, rtmr3: reg('00') },
    expectedGpus: [],
    gpuCount: null,
    rc: false,
    authorizedHotkeys: [],
    sealedRootPassphrase: null,
    createdAt: new Date(0),
    retiredAt: null,
    ...extra,
  };
}

function quoteFor(mrtd: string, rtmr0 = reg('b0')) {
  const hex = (value: string) => Buffer.from(value, 'hex');
  return forge.quote({
    reportData: Buffer.concat([NONCE, hex(KEY_HASH)]),
    mrtd: hex(mrtd),
    rtmrs: { rtmr0: hex(rtmr0), rtmr1: hex(reg('b1')), rtmr2: hex(reg('b2')), rtmr3: hex(reg('00')) },
  });
}

function service(sets: MeasurementSet[], env: Record<string, string> = {}) {
  const measurementSets = {
    activeWithCandidates: () => Promise.resolve(sets),
    active: () => Promise.resolve(sets.filter((s) => !s.rc)),
  } as unknown as MeasurementSetsService;
  const verification = {
    parse: parseTdxQuote,
    verify: () => Promise.resolve({ verified: { tcbStatus: 'UpToDate', advisoryIds: [], fmspc: '00' }, collateral: { origin: 'test', stale: false } }),
  } as unknown as QuoteVerificationService;
  return new QuoteAppraisalService(verification, measurementSets, loadConfig(env));
}

async function appraise(appraisal: QuoteAppraisalService, raw: Buffer, request: Partial<AppraisalRequest> = {}) {
  const record = emptyAppraisalRecord();
  try {
    const { set } = await appraisal.appraise(raw, parseTdxQuote(raw), { kind: 'boot', nonce: NONCE, keyHash: KEY_HASH, ...request }, record);
    return { set, record, code: null };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { set: null, record, code: error.code, message: error.message };
  }
}

describe('QuoteAppraisalService: release-candidate sets', () => {
  const published = () => set('8xh200', '1.4.0', reg('a1'));
  const candidate = () => set('8xh200', '1.4.1', reg('c1'), { rc: true, authorizedHotkeys: [alice] });

  it.each(['boot', 'runtime'] as const)('%s: an rc set matches for a proven authorized hotkey', async (kind) => {
    const result = await appraise(service([published(), candidate()]), quoteFor(reg('c1')), { kind, provenHotkey: alice });
    expect(result.code).toBeNull();
    expect(result.set).toMatchObject({ name: '8xh200', version: '1.4.1', rc: true });
    expect(result.record.verdict.measurement).toEqual({ matched: true, kind, name: '8xh200', version: '1.4.1', rc: true });
  });

  it('compares hotkeys canonically (the same key under another ss58 prefix is the same hotkey)', async () => {
    const substrate = encodeAddress(decodeAddress(alice), 42);
    const polkadot = encodeAddress(decodeAddress(alice), 0);
    expect(polkadot).not.toBe(substrate);
    const stored = candidate();
    stored.authorizedHotkeys = [polkadot];
    expect((await appraise(service([stored]), quoteFor(reg('c1')), { provenHotkey: substrate })).code).toBeNull();
  });

  it.each([
    ['no_proven_hotkey', undefined],
    ['hotkey_not_authorized', 'bob'],
  ] as const)('%s: the VM gets the plain MEASUREMENT_MISMATCH, the audit verdict says why', async (reason, who) => {
    for (const kind of ['boot', 'runtime'] as const) {
      const withoutGate = await appraise(service([published()]), quoteFor(reg('c1')), { kind });
      const gated = await appraise(service([published(), candidate()]), quoteFor(reg('c1')), { kind, provenHotkey: who === 'bob' ? bob : undefined });
      expect([gated.code, gated.message]).toEqual([withoutGate.code, withoutGate.message]);
      expect(gated.code).toBe(ErrorCode.MEASUREMENT_MISMATCH);
      expect(gated.record.verdict.measurement).toMatchObject({ matched: false, kind, rc_gate: { name: '8xh200', version: '1.4.1', reason } });
      expect(withoutGate.record.verdict.measurement).not.toHaveProperty('rc_gate');
      expect([gated.record.measurementName, gated.record.measurementVersion]).toEqual(['8xh200', '1.4.1']);
      // The refusal stops before DCAP.
      expect(gated.record.verdict).not.toHaveProperty('dcap');
    }
  });

  it('a quote matching nothing says nothing about rc gates', async () => {
    const result = await appraise(service([published(), candidate()]), quoteFor(reg('e1')));
    expect(result.code).toBe(ErrorCode.MEASUREMENT_MISMATCH);
    expect(result.record.verdict.measurement).not.toHaveProperty('rc_gate');
  });

  it('a published set with the same registers still matches for anyone', async () => {
    const twin = set('8xh200', '1.4.0', reg('c1'));
    const result = await appraise(service([candidate(), twin]), quoteFor(reg('c1')));
    expect(result.set).toMatchObject({ version: '1.4.0', rc: false });
  });
});

describe('QuoteAppraisalService: the matched set is (name, version)', () => {
  it('two GPU flavours of one version: the quote gets the flavour its registers match', async () => {
    const h200 = set('8xh200', '1.4.0', reg('a1'), { expectedGpus: ['h200'] });
    const b200 = set('8xb200', '1.4.0', reg('a1'), { expectedGpus: ['b200'], bootRtmrs: { rtmr0: reg('d0'), rtmr1: reg('b1'), rtmr2: reg('b2') } });
    const result = await appraise(service([h200, b200]), quoteFor(reg('a1'), reg('d0')));
    expect(result.code).toBeNull();
    expect(result.set).toMatchObject({ name: '8xb200', version: '1.4.0', expectedGpus: ['b200'] });
    expect([result.record.measurementName, result.record.measurementVersion]).toEqual(['8xb200', '1.4.0']);
  });
});

describe('QuoteAppraisalService: TEE_MINIMUM_BOOT_VERSION', () => {
  const sets = () => [
    set('old', '1.3.9', reg('a1')),
    set('new', '1.4.0', reg('a2')),
    set('rc', '1.3.10-rc1', reg('a3'), { rc: true, authorizedHotkeys: [alice] }),
  ];

  it('refuses a boot matching a set below the floor with VERSION_TOO_OLD, recording the floor', async () => {
    const result = await appraise(service(sets(), { TEE_MINIMUM_BOOT_VERSION: '1.4.0' }), quoteFor(reg('a1')));
    expect(result.code).toBe(ErrorCode.VERSION_TOO_OLD);
    expect(result.record.verdict.measurement).toMatchObject({ matched: true, name: 'old', version: '1.3.9' });
    expect(result.record.verdict.version_floor).toEqual({ version: '1.3.9', minimum: '1.4.0' });
    expect(result.record.verdict).not.toHaveProperty('dcap');
  });

  it('applies to release candidates too', async () => {
    const result = await appraise(service(sets(), { TEE_MINIMUM_BOOT_VERSION: '1.4.0' }), quoteFor(reg('a3')), { provenHotkey: alice });
    expect(result.code).toBe(ErrorCode.VERSION_TOO_OLD);
  });

  it('lets the floor version itself through, and every version without a floor', async () => {
    expect((await appraise(service(sets(), { TEE_MINIMUM_BOOT_VERSION: '1.4.0' }), quoteFor(reg('a2')))).code).toBeNull();
    const unset = await appraise(service(sets()), quoteFor(reg('a1')));
    expect(unset.code).toBeNull();
    expect(unset.record.verdict).not.toHaveProperty('version_floor');
  });

  it('is for boots only: a runtime quote of an older image still appraises', async () => {
    expect((await appraise(service(sets(), { TEE_MINIMUM_BOOT_VERSION: '1.4.0' }), quoteFor(reg('a1')), { kind: 'runtime' })).code).toBeNull();
  });
});
