/**
 * The adapter around the pure verification core: finds collateral, supplies the trust anchor
 * and the clock, meters the time, and keeps one QuoteVerifier (and its caches) per process.
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig, ConfigError } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { INTEL_SGX_ROOT_CA_DER, QuoteVerifier, VerifiedQuote, loadRootCa } from './core/dcap';
import { parseTdxQuote, TdxQuote } from './core/quote';
import { MetricsService } from '../ops/metrics.service';
import { ReadinessFacts } from '../ops/readiness-facts';
import { CollateralResult, CollateralService, platformOf } from './collateral/collateral.service';

export interface QuoteVerification {
  verified: VerifiedQuote;
  collateral: Pick<CollateralResult, 'origin' | 'stale' | 'nextUpdate'>;
}

interface TrustAnchor {
  der: Uint8Array;
  /** Set when DCAP_ROOT_CA_FILE replaced the pinned Intel root. */
  override?: { file: string; subject: string };
}

function trustAnchor(config: AppConfig): TrustAnchor {
  if (!config.dcapRootCaFile) return { der: INTEL_SGX_ROOT_CA_DER };
  try {
    const der = loadRootCa(fs.readFileSync(config.dcapRootCaFile));
    // One line: X509Certificate puts each RDN on a line of its own.
    const subject = new X509Certificate(der).subject.split('\n').join(', ');
    return { der, override: { file: config.dcapRootCaFile, subject } };
  } catch (error) {
    throw new ConfigError(`invalid configuration: DCAP_ROOT_CA_FILE is not a readable PEM or DER certificate (${(error as Error).message})`);
  }
}

@Injectable()
export class QuoteVerificationService {
  private readonly verifier: QuoteVerifier;
  private readonly logger = new Logger('attestation');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly collateral: CollateralService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    readiness: ReadinessFacts,
  ) {
    const anchor = trustAnchor(config);
    this.verifier = new QuoteVerifier(anchor.der, { staleGraceSeconds: config.collateralStaleGraceSeconds });
    // A replaced root silently changes whom every quote is trusted from: say so at every start,
    // in /readyz and as a metric (production refuses it in loadConfig).
    metrics.dcapRootCaOverridden.set(anchor.override ? 1 : 0);
    readiness.trustAnchor = anchor.override ? { overridden: true, ...anchor.override } : { overridden: false };
    if (anchor.override) {
      this.logger.warn(
        `DCAP_ROOT_CA_FILE ${anchor.override.file} replaces the pinned Intel SGX Root CA: quotes are trusted from "${anchor.override.subject}" (tests only; refused when NODE_ENV=production)`,
      );
    }
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
