/**
 * The adapter around the pure verification core: finds collateral, supplies the trust anchor
 * and the clock, meters the time, and keeps one QuoteVerifier (and its caches) per process.
 */
import * as fs from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, ConfigError } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { INTEL_SGX_ROOT_CA_DER, QuoteVerifier, VerifiedQuote, loadRootCa } from './core/dcap';
import { parseTdxQuote, TdxQuote } from './core/quote';
import { MetricsService } from '../ops/metrics.service';
import { CollateralResult, CollateralService, platformOf } from './collateral/collateral.service';

export interface QuoteVerification {
  verified: VerifiedQuote;
  collateral: Pick<CollateralResult, 'origin' | 'stale' | 'nextUpdate'>;
}

function trustAnchor(config: AppConfig): Uint8Array {
  if (!config.dcapRootCaFile) return INTEL_SGX_ROOT_CA_DER;
  try {
    return loadRootCa(fs.readFileSync(config.dcapRootCaFile));
  } catch (error) {
    throw new ConfigError(`invalid configuration: DCAP_ROOT_CA_FILE is not a readable PEM or DER certificate (${(error as Error).message})`);
  }
}

@Injectable()
export class QuoteVerificationService {
  private readonly verifier: QuoteVerifier;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly collateral: CollateralService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {
    this.verifier = new QuoteVerifier(trustAnchor(config), { staleGraceSeconds: config.collateralStaleGraceSeconds });
  }

  /** Structure only (400 QUOTE_MALFORMED / QUOTE_UNSUPPORTED on failure). */
  parse(raw: Uint8Array): TdxQuote {
    return parseTdxQuote(raw);
  }

  /** Full DCAP verification; throws DomainError with the failing step's code. */
  async verify(raw: Uint8Array, quote: TdxQuote = parseTdxQuote(raw)): Promise<QuoteVerification> {
    const found = await this.collateral.forPlatform(platformOf(quote));
    const stopTimer = this.metrics.verificationSeconds.startTimer();
    try {
      const verified = this.verifier.verify(raw, found.collateral, this.clock.now());
      return { verified, collateral: { origin: found.origin, stale: found.stale, nextUpdate: found.nextUpdate } };
    } finally {
      stopTimer();
    }
  }
}
