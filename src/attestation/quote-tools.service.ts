/** The public quote tools: describe a quote, and say what bootkey would make of it. */
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError, ErrorCode } from '../common/errors';
import { httpStatusOf } from '../common/http/http-status-by-code';
import { MeasurementSetsService, toPolicy } from '../measurements/measurement-sets.service';
import { isDebugTd } from './core/dcap';
import { evaluateMeasurementPolicy, MeasurementKind, MeasurementSetPolicy, MeasurementVerdict, tdMeasurements } from './core/policy/measurement-policy';
import { evaluateTcbPolicy } from './core/policy/tcb-policy';
import { evaluateTdAttributesPolicy } from './core/policy/td-attributes-policy';
import { buildQuoteParseView } from './core/quote';
import { MeasurementMatchView, QuoteParseResponse, QuoteVerifyResponse } from './dto/quote-tools.response';
import { QuoteVerificationService } from './quote-verification.service';

function matchView(verdict: MeasurementVerdict): MeasurementMatchView {
  if (verdict.matched) return { matched: true, name: verdict.name, version: verdict.version };
  return {
    matched: false,
    name: verdict.nearest?.name ?? null,
    version: verdict.nearest?.version ?? null,
    differences: (verdict.nearest?.registers ?? [])
      .filter((r) => !r.match)
      .map(({ register, expected, actual, match }) => ({ register, expected, actual, match })),
  };
}

@Injectable()
export class QuoteToolsService {
  constructor(
    private readonly verification: QuoteVerificationService,
    private readonly measurementSets: MeasurementSetsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  parse(raw: Buffer): QuoteParseResponse {
    return buildQuoteParseView(this.verification.parse(raw));
  }

  async verify(raw: Buffer): Promise<QuoteVerifyResponse> {
    const quote = this.verification.parse(raw);
    const sets: MeasurementSetPolicy[] = (await this.measurementSets.active()).map(toPolicy);
    const td = tdMeasurements(quote);
    const measure = (kind: MeasurementKind) => evaluateMeasurementPolicy(td, sets, kind);
    const measurements = { boot: matchView(measure('boot')), runtime: matchView(measure('runtime')) };
    const debug = isDebugTd(quote);
    // The same TD attributes policy as boot (DEBUG, TD_ATTRIBUTES_REFUSED, MRSERVICETD_ALLOWED).
    const attributesAccepted = evaluateTdAttributesPolicy(quote.body, {
      refusedMask: this.config.tdAttributesRefused,
      mrServiceTdAllowed: this.config.mrServiceTdAllowed,
    }).accepted;
    try {
      const { verified, collateral } = await this.verification.verify(raw, quote);
      const tcbAccepted = evaluateTcbPolicy(verified.tcbStatus, this.config.acceptedTcbStatuses).accepted;
      return {
        dcap_verified: true,
        error_code: null,
        tcb_status: verified.tcbStatus,
        tcb_accepted: tcbAccepted,
        advisory_ids: verified.advisoryIds,
        debug,
        fmspc: verified.fmspc,
        collateral: { origin: collateral.origin, stale: collateral.stale, next_update: collateral.nextUpdate.toISOString() },
        measurements,
        boot_acceptable: tcbAccepted && attributesAccepted && measurements.boot.matched,
      };
    } catch (error) {
      // A refused quote is this endpoint's answer (200, dcap_verified false); unavailable collateral
      // is the broker's problem, not the quote's (keep it a 503), and an unreadable quote a 400.
      if (!(error instanceof DomainError)) throw error;
      const status = httpStatusOf(error.code);
      if (status >= 500 || status === 400) throw error;
      return {
        dcap_verified: false,
        error_code: error.code,
        tcb_status: error.code === ErrorCode.TCB_STATUS_REJECTED ? 'Revoked' : null,
        tcb_accepted: false,
        advisory_ids: [],
        debug,
        fmspc: null,
        collateral: null,
        measurements,
        boot_acceptable: false,
      };
    }
  }
}
