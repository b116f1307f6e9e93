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
import { DomainError, ErrorCode } from '../common/errors';
import { INTEL_SGX_ROOT_CA_DER, QuoteVerifier, VerifiedQuote, loadRootCa } from './core/dcap';
import { LruCache } from './core/dcap/lru-cache';
import type { PckPlatformId } from './core/dcap/quote-verifier';
import { parseTdxQuote, TdxQuote } from './core/quote';
import { MetricsService } from '../ops/metrics.service';
import { ReadinessFacts } from '../ops/readiness-facts';
import { CollateralResult, CollateralService } from './collateral/collateral.service';

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

/** Platforms (FMSPC + PCK CA) seen verifying, bounded: a fleet has a handful. */
const PLATFORMS_REMEMBERED = 1024;

@Injectable()
export class QuoteVerificationService {
  private readonly verifier: QuoteVerifier;
  private readonly logger = new Logger('attestation');
  private readonly platformsVerified = new LruCache<string, true>(PLATFORMS_REMEMBERED);

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

  /**
   * Full DCAP verification; throws DomainError with the failing step's code. The quote's own
   * cryptography (PCK chain to the root, QE report, quote signature) is checked before any
   * collateral is looked up, so an unauthenticated quote never makes the broker ask a PCCS.
   * A defect of the collateral itself is 503 COLLATERAL_UNAVAILABLE (the VM retries, an operator
   * or the next PCCS answer fixes it); only what is the quote's fault is a 403.
   */
  async verify(raw: Uint8Array, quote: TdxQuote = parseTdxQuote(raw)): Promise<QuoteVerification> {
    const now = this.clock.now();
    // The quote's own cryptography is checked once; verifyAuthenticated adds the collateral.
    const authenticated = this.verifier.authenticate(quote, now);
    const { platform } = authenticated;
    const found = await this.collateral.forPlatform(platform, (bundle, at) => this.verifier.checkCollateral(bundle, at));
    const stopTimer = this.metrics.verificationSeconds.startTimer();
    try {
      const verified = this.verifier.verifyAuthenticated(authenticated, found.collateral);
      this.platformsVerified.set(platformKey(platform), true);
      return { verified, collateral: { origin: found.origin, stale: found.stale, nextUpdate: found.nextUpdate } };
    } catch (error) {
      throw this.blame(error, platform);
    } finally {
      stopTimer();
    }
  }

  /**
   * Collateral faults become COLLATERAL_UNAVAILABLE (cause kept in the detail for the audit row):
   * a defective bundle (its signatures and chains were checked on the way in; what is left is
   * a bundle that does not fit this platform), and a missing TCB level while no quote of this
   * platform has ever verified here — then the TCB info, not the platform, is the likelier culprit
   * (e.g. a TDX module newer than the collateral). Once the platform has verified, a missing
   * level is the quote's fault (403 TCB_LEVEL_NOT_FOUND).
   */
  private blame(error: unknown, platform: PckPlatformId): unknown {
    if (!(error instanceof DomainError)) return error;
    const collateralFault =
      error.code === ErrorCode.COLLATERAL_INVALID || (error.code === ErrorCode.TCB_LEVEL_NOT_FOUND && !this.platformsVerified.get(platformKey(platform)));
    if (!collateralFault) return error;
    return new DomainError(ErrorCode.COLLATERAL_UNAVAILABLE, 'no usable collateral for this platform; retry later', {
      ...error.detail,
      fmspc: platform.fmspc,
      ca: platform.ca,
      cause: error.code,
      causeMessage: error.message,
    });
  }
}

function platformKey(platform: PckPlatformId): string {
  return `${platform.fmspc}|${platform.ca}`;
}
