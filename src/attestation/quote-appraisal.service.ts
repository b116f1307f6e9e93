/**
 * Appraises a TD's quote for a purpose (boot or runtime), in the contract's order once the
 * nonce has been dealt with: structure → REPORTDATA binding (nonce || SHA-256 of the presenter's
 * TLS key) → measurements against the active sets (release candidates only for their proven
 * hotkeys) → TEE_MINIMUM_BOOT_VERSION (boot) → DCAP + TCB policy → TD attributes (DEBUG,
 * TD_ATTRIBUTES_REFUSED, MRSERVICETD).
 * It records each check in `record.verdict` as it goes, so a refusal can be audited with why.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError, ErrorCode } from '../common/errors';
import { constantTimeEqual } from '../common/crypto/hashing';
import { canonicalSs58 } from '../common/validation/ss58';
import { versionAtLeast } from '../common/validation/version-order';
import { MeasurementSet } from '../measurements/measurement-set.types';
import { MeasurementSetsService, toPolicy } from '../measurements/measurement-sets.service';
import { isDebugTd } from './core/dcap';
import { evaluateMeasurementPolicy, MeasurementKind, tdMeasurements } from './core/policy/measurement-policy';
import { evaluateTcbPolicy } from './core/policy/tcb-policy';
import { evaluateTdAttributesPolicy } from './core/policy/td-attributes-policy';
import type { TdxQuote } from './core/quote';
import { decodeQuoteBase64 } from './dto/quote.request';
import { QuoteVerificationService } from './quote-verification.service';

/** What the audit row needs, filled in as far as the appraisal got. */
export interface AppraisalRecord {
  verdict: Record<string, unknown>;
  measurementName: string | null;
  measurementVersion: string | null;
  tcbStatus: string | null;
  advisoryIds: string[];
}

export interface AppraisalRequest {
  kind: MeasurementKind;
  /** REPORTDATA[0..32) must equal this. */
  nonce: Uint8Array;
  /** REPORTDATA[32..64) must equal this SHA-256 (hex) of the presenter's SPKI; undefined → no certificate. */
  keyHash: string | undefined;
  /**
   * The caller's hotkey when a valid signature proves it (canonical ss58): release-candidate sets
   * match only for a proven hotkey in their `authorized_hotkeys`. Undefined = nothing proven.
   */
  provenHotkey?: string;
}

export interface Appraisal {
  quote: TdxQuote;
  set: MeasurementSet;
}

export function emptyAppraisalRecord(): AppraisalRecord {
  return { verdict: {}, measurementName: null, measurementVersion: null, tcbStatus: null, advisoryIds: [] };
}

@Injectable()
export class QuoteAppraisalService {
  constructor(
    private readonly verification: QuoteVerificationService,
    private readonly measurementSets: MeasurementSetsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The base64 `quote` of a request body, recorded in the verdict when it is not base64 (400 QUOTE_MALFORMED). */
  decode(quote: string, record: AppraisalRecord): Buffer {
    try {
      return decodeQuoteBase64(quote);
    } catch (error) {
      record.verdict.quote = ErrorCode.QUOTE_MALFORMED;
      throw error;
    }
  }

  /** Structure only, recorded in the verdict (400 QUOTE_MALFORMED / QUOTE_UNSUPPORTED). */
  parse(raw: Uint8Array, record: AppraisalRecord): TdxQuote {
    try {
      const quote = this.verification.parse(raw);
      record.verdict.quote = 'ok';
      return quote;
    } catch (error) {
      record.verdict.quote = error instanceof DomainError ? error.code : 'error';
      throw error;
    }
  }

  async appraise(raw: Uint8Array, quote: TdxQuote, request: AppraisalRequest, record: AppraisalRecord): Promise<Appraisal> {
    this.checkBinding(quote, request, record);
    const set = await this.matchMeasurements(quote, request, record);
    this.checkVersionFloor(set, request.kind, record);
    await this.checkDcap(raw, quote, record);
    this.checkTdAttributes(quote, record);
    return { quote, set };
  }

  /** DESIGN check 6: TD_ATTRIBUTES_REFUSED bits and MRSERVICETD_ALLOWED. */
  private checkTdAttributes(quote: TdxQuote, record: AppraisalRecord): void {
    record.verdict.debug = isDebugTd(quote);
    const verdict = evaluateTdAttributesPolicy(quote.body, {
      refusedMask: this.config.tdAttributesRefused,
      mrServiceTdAllowed: this.config.mrServiceTdAllowed,
    });
    record.verdict.td_attributes = {
      status: verdict.accepted ? 'accepted' : 'refused',
      attributes: verdict.attributes,
      refused_bits: verdict.refusedBits,
      ...(verdict.mrServiceTd ? { mrservicetd: verdict.mrServiceTd.value, mrservicetd_accepted: verdict.mrServiceTd.accepted } : {}),
    };
    if (verdict.code === 'DEBUG_TD') throw new DomainError(ErrorCode.DEBUG_TD, 'debug TDs are refused');
    if (verdict.code === 'TD_ATTRIBUTES_REFUSED') {
      const reasons = [
        ...(verdict.refusedBits.length > 0 ? [`TD attribute bits ${verdict.refusedBits.join(', ')}`] : []),
        ...(verdict.mrServiceTd?.accepted === false ? ['an MRSERVICETD not in MRSERVICETD_ALLOWED'] : []),
      ];
      throw new DomainError(ErrorCode.TD_ATTRIBUTES_REFUSED, `TD refused: ${reasons.join(' and ')}`);
    }
  }

  private checkBinding(quote: TdxQuote, request: AppraisalRequest, record: AppraisalRecord): void {
    const reportData = quote.body.reportData;
    const mismatch = () => new DomainError(ErrorCode.REPORT_DATA_MISMATCH, 'REPORTDATA does not bind this nonce and this TLS key');
    if (request.nonce.length !== 32 || !constantTimeEqual(reportData.subarray(0, 32), request.nonce)) {
      record.verdict.report_data = 'nonce_mismatch';
      throw mismatch();
    }
    if (!request.keyHash) {
      record.verdict.report_data = 'no_client_certificate';
      throw new DomainError(ErrorCode.CLIENT_CERT_REQUIRED, 'a TLS client certificate is required');
    }
    if (!constantTimeEqual(reportData.subarray(32, 64), Buffer.from(request.keyHash, 'hex'))) {
      record.verdict.report_data = 'key_mismatch';
      throw mismatch();
    }
    record.verdict.report_data = 'ok';
  }

  /**
   * The set the quote's registers match among the published sets and the release candidates the
   * caller may use (a proven hotkey in `authorized_hotkeys`). When only a gated rc set would have
   * matched, the caller gets the same MEASUREMENT_MISMATCH as any miss (the gate stays invisible);
   * the audit verdict says which set and why (`rc_gate`).
   */
  private async matchMeasurements(quote: TdxQuote, request: AppraisalRequest, record: AppraisalRecord): Promise<MeasurementSet> {
    const kind = request.kind;
    const td = tdMeasurements(quote);
    const sets = await this.measurementSets.activeWithCandidates();
    const usable = sets.filter((set) => !set.rc || rcAuthorizes(set, request.provenHotkey));
    const result = evaluateMeasurementPolicy(td, usable.map(toPolicy), kind);
    if (!result.matched) {
      const gated = sets.filter((set) => !usable.includes(set));
      const wouldMatch = gated.length > 0 ? evaluateMeasurementPolicy(td, gated.map(toPolicy), kind) : null;
      const rcGate = wouldMatch?.matched
        ? { name: wouldMatch.name, version: wouldMatch.version, reason: request.provenHotkey === undefined ? 'no_proven_hotkey' : 'hotkey_not_authorized' }
        : null;
      record.verdict.measurement = { matched: false, kind, nearest: result.nearest, ...(rcGate ? { rc_gate: rcGate } : {}) };
      record.measurementName = rcGate?.name ?? result.nearest?.name ?? null;
      record.measurementVersion = rcGate?.version ?? result.nearest?.version ?? null;
      throw new DomainError(ErrorCode.MEASUREMENT_MISMATCH, 'measurements match no registered measurement set');
    }
    // (name, version) is a set's identity: several GPU flavours share a version.
    const set = usable.find((candidate) => candidate.name === result.name && candidate.version === result.version)!;
    record.verdict.measurement = { matched: true, kind, name: set.name, version: set.version, ...(set.rc ? { rc: true } : {}) };
    record.measurementName = set.name;
    record.measurementVersion = set.version;
    return set;
  }

  /** TEE_MINIMUM_BOOT_VERSION: a boot whose image (the matched set) is older is refused. */
  private checkVersionFloor(set: MeasurementSet, kind: MeasurementKind, record: AppraisalRecord): void {
    const minimum = this.config.teeMinimumBootVersion;
    if (kind !== 'boot' || minimum === undefined || versionAtLeast(set.version, minimum)) return;
    record.verdict.version_floor = { version: set.version, minimum };
    throw new DomainError(ErrorCode.VERSION_TOO_OLD, `image version ${set.version} is below the minimum boot version ${minimum}`);
  }

  private async checkDcap(raw: Uint8Array, quote: TdxQuote, record: AppraisalRecord): Promise<void> {
    try {
      const { verified, collateral } = await this.verification.verify(raw, quote);
      record.tcbStatus = verified.tcbStatus;
      record.advisoryIds = verified.advisoryIds;
      record.verdict.dcap = {
        status: 'ok',
        tcb_status: verified.tcbStatus,
        fmspc: verified.fmspc,
        collateral: collateral.origin,
        collateral_stale: collateral.stale,
      };
    } catch (error) {
      // A collateral fault answers 503 COLLATERAL_UNAVAILABLE; the audit row keeps what was wrong.
      const detail = error instanceof DomainError ? error.detail : undefined;
      record.verdict.dcap = {
        status: error instanceof DomainError ? error.code : 'error',
        ...(detail?.cause ? { cause: detail.cause } : {}),
        ...(Array.isArray(detail?.problems) ? { problems: (detail.problems as unknown[]).slice(0, 4) } : {}),
      };
      throw error;
    }
    const tcb = evaluateTcbPolicy(record.tcbStatus, this.config.acceptedTcbStatuses);
    record.verdict.tcb_policy = tcb.accepted ? 'accepted' : 'rejected';
    if (!tcb.accepted) throw new DomainError(ErrorCode.TCB_STATUS_REJECTED, `TCB status ${tcb.status} is not accepted`);
  }
}

/** Whether an rc set admits this proven hotkey (ss58 compared canonically: any prefix, same key). */
function rcAuthorizes(set: MeasurementSet, provenHotkey: string | undefined): boolean {
  if (provenHotkey === undefined) return false;
  const canonical = (address: string) => {
    try {
      return canonicalSs58(address);
    } catch {
      return null;
    }
  };
  const proven = canonical(provenHotkey);
  return proven !== null && set.authorizedHotkeys.some((hotkey) => canonical(hotkey) === proven);
}
