/**
 * Finds DCAP collateral for a quote's platform. Order: COLLATERAL_DIR (offline sites), then the
 * PostgreSQL cache of PCCS answers, refreshed from the PCCSes (in order) before it goes stale.
 *
 * Every bundle is verified (signatures, Intel PKI roles, CRLs, format, validity at `now`) before
 * it is served or cached, by the check the caller passes (the DCAP verifier's). A PCCS answer
 * that fails it, or that is older than the cached bundle (a rollback), counts as that PCCS
 * failing: the next one is asked, and the cached bundle keeps being served up to
 * COLLATERAL_STALE_GRACE_S past its nextUpdate (logged and metered). With nothing usable the
 * answer is 503 COLLATERAL_UNAVAILABLE — not a rejection, the VM retries — and, when PCCSes were
 * asked, the failure is remembered per (FMSPC, CA) for COLLATERAL_NEGATIVE_TTL_S, so repeated
 * requests do not hammer them.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { Clock } from '../../common/clock/clock';
import { DomainError, ErrorCode } from '../../common/errors';
import { MetricsService } from '../../ops/metrics.service';
import type { QuoteCollateral } from '../core/dcap';
import { LruCache } from '../core/dcap/lru-cache';
import { pckPlatformOfLeaf } from '../core/dcap/pck-extension';
import type { CollateralFacts } from '../core/dcap/quote-verifier';
import type { TdxQuote } from '../core/quote';
import { CollateralCacheRepository, isOlderBundle } from './collateral-cache.repository';
import { CollateralFetchError, PckCaType } from './collateral-source';
import { DirectoryCollateralSource } from './directory-source';
import { PccsCollateralSource } from './pccs-client';

/** Re-fetch cached collateral this often even before nextUpdate (TCB recoveries show up early). */
const REFRESH_AFTER_MS = 60 * 60 * 1000;
/** Platforms remembered as failing; real fleets have a handful of FMSPCs. */
const NEGATIVE_CACHE_ENTRIES = 1024;

export interface PlatformId {
  fmspc: string;
  ca: PckCaType;
}

export interface CollateralResult {
  collateral: QuoteCollateral;
  origin: 'directory' | 'pccs' | 'cache';
  /** Past nextUpdate but within the grace. */
  stale: boolean;
  nextUpdate: Date;
}

/** Verifies a bundle at `now` (throws the DomainError of its first defect) and describes it. */
export type CollateralCheck = (collateral: QuoteCollateral, now: Date) => CollateralFacts;

/**
 * FMSPC and PCK CA named by a quote's PCK leaf, read without verifying it — for the parse view
 * only. Verification looks collateral up for the platform of a verified chain instead.
 */
export function platformOf(quote: TdxQuote): PlatformId {
  const platform = pckPlatformOfLeaf(quote.signature.qeCertification.pckCertChain.certificatesDer[0]);
  if (!platform) throw new DomainError(ErrorCode.PCK_CHAIN_INVALID, 'PCK certificate has no readable FMSPC');
  return { fmspc: Buffer.from(platform.fmspc).toString('hex'), ca: platform.processorCa ? 'processor' : 'platform' };
}

interface NegativeEntry {
  until: number;
  reason: string;
}

@Injectable()
export class CollateralService {
  private readonly logger = new Logger('collateral');
  private readonly directory?: DirectoryCollateralSource;
  private readonly pccs?: PccsCollateralSource;
  private readonly inFlight = new Map<string, Promise<CollateralResult>>();
  private readonly negative = new LruCache<string, NegativeEntry>(NEGATIVE_CACHE_ENTRIES);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cache: CollateralCacheRepository,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {
    if (config.collateralDir) this.directory = new DirectoryCollateralSource(config.collateralDir);
    if (config.pccsUrls.length > 0) this.pccs = new PccsCollateralSource(config.pccsUrls);
    for (const problem of this.directory?.loadProblems() ?? []) this.logger.warn(`COLLATERAL_DIR: ignoring ${problem}`);
    if (!this.directory && !this.pccs) {
      this.logger.warn('neither COLLATERAL_DIR nor PCCS_URL is set: every quote verification will answer 503 COLLATERAL_UNAVAILABLE');
    }
  }

  /** Verified collateral for a platform whose PCK chain the caller has verified. */
  async forPlatform(platform: PlatformId, check: CollateralCheck): Promise<CollateralResult> {
    const key = `${platform.fmspc}|${platform.ca}`;
    const remembered = this.negative.get(key);
    if (remembered && this.clock.now().getTime() < remembered.until) {
      this.metrics.collateralEvents.inc({ source: 'negative', result: 'cached' });
      throw unavailable(platform, 'collateral for this platform was unavailable moments ago; retry later', [remembered.reason]);
    }
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const lookup = this.lookup(platform, check)
      .catch((error: unknown) => {
        // Remembered only when a PCCS was asked: the point is to spare the upstream; a directory
        // is local, and an operator fixing a file should see the fix at once.
        if (this.pccs && error instanceof DomainError && error.code === ErrorCode.COLLATERAL_UNAVAILABLE) {
          const reason = String((error.detail?.problems as string[] | undefined)?.join('; ') ?? error.message);
          this.negative.set(key, { until: this.clock.now().getTime() + this.config.collateralNegativeTtlSeconds * 1000, reason });
        }
        throw error;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, lookup);
    return lookup;
  }

  private async lookup(platform: PlatformId, check: CollateralCheck): Promise<CollateralResult> {
    const now = this.clock.now();
    const problems: string[] = [];
    if (this.directory) {
      const found = await this.fromDirectory(platform, now, check, problems);
      if (found) return found;
    }
    if (this.pccs) {
      const found = await this.fromPccs(this.pccs, platform, now, check, problems);
      if (found) return found;
    }
    if (!this.directory && !this.pccs) problems.push('neither COLLATERAL_DIR nor PCCS_URL is configured');
    throw unavailable(platform, 'no usable collateral for this platform; retry later', problems);
  }

  /** Verifies a bundle for this platform at `now`; DomainError on any defect or mismatch. */
  private accept(collateral: QuoteCollateral, platform: PlatformId, now: Date, check: CollateralCheck): CollateralFacts {
    const facts = check(collateral, now);
    if (facts.fmspc !== platform.fmspc || facts.pckCrlCa !== platform.ca) {
      throw new DomainError(ErrorCode.COLLATERAL_INVALID, `collateral is for FMSPC ${facts.fmspc} (${facts.pckCrlCa} CA), not this platform`, {
        step: 'collateral_platform',
      });
    }
    return facts;
  }

  private async fromDirectory(platform: PlatformId, now: Date, check: CollateralCheck, problems: string[]): Promise<CollateralResult | undefined> {
    let collateral: QuoteCollateral;
    try {
      collateral = await this.directory!.fetch(platform.fmspc, platform.ca);
    } catch (error) {
      if (!(error instanceof CollateralFetchError)) throw error;
      problems.push(error.message);
      return undefined;
    }
    let facts: CollateralFacts;
    try {
      facts = this.accept(collateral, platform, now, check);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      problems.push(`COLLATERAL_DIR bundle refused (${error.code}: ${error.message})`);
      this.metrics.collateralEvents.inc({ source: 'directory', result: 'refused' });
      this.logger.warn({ fmspc: platform.fmspc, code: error.code, reason: error.message }, 'COLLATERAL_DIR bundle refused');
      return undefined;
    }
    const stale = now > facts.nextUpdate;
    if (stale) this.noteStale('directory', platform, facts.nextUpdate);
    return { collateral, origin: 'directory', stale, nextUpdate: facts.nextUpdate };
  }

  private async fromPccs(
    pccs: PccsCollateralSource,
    platform: PlatformId,
    now: Date,
    check: CollateralCheck,
    problems: string[],
  ): Promise<CollateralResult | undefined> {
    const cached = await this.cache.find(platform);
    let usableCache: { collateral: QuoteCollateral; facts: CollateralFacts } | undefined;
    if (cached) {
      try {
        usableCache = { collateral: cached.collateral, facts: this.accept(cached.collateral, platform, now, check) };
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        problems.push(`cached bundle unusable (${error.code}: ${error.message})`);
        // Past its grace it still orders newer bundles; defective (another trust anchor, rows
        // from before verification) it is dropped.
        if (error.code !== ErrorCode.COLLATERAL_EXPIRED) await this.cache.remove(platform, cached.collateral);
      }
    }
    if (usableCache && cached && now < usableCache.facts.nextUpdate && now.getTime() - cached.fetchedAt.getTime() < REFRESH_AFTER_MS) {
      this.metrics.collateralEvents.inc({ source: 'cache', result: 'cached' });
      return { collateral: usableCache.collateral, origin: 'cache', stale: false, nextUpdate: usableCache.facts.nextUpdate };
    }

    // Rows cached before the order was stored are ordered by what they verify as.
    const floor = cached?.order ?? usableCache?.facts;
    try {
      const { collateral, accepted: facts } = await pccs.fetchAccepted(platform.fmspc, platform.ca, (bundle) => {
        const facts = this.accept(bundle, platform, now, check);
        if (floor && isOlderBundle(facts, floor)) {
          throw new CollateralFetchError(
            `older than the cached bundle (tcbEvaluationDataNumber ${facts.tcbInfo.tcbEvaluationDataNumber} < ${floor.tcbInfo.tcbEvaluationDataNumber}, or an earlier issue date)`,
          );
        }
        return facts;
      });
      if (await this.cache.store(platform, collateral, facts, facts.nextUpdate, now)) {
        this.metrics.collateralEvents.inc({ source: 'pccs', result: 'fresh' });
        return { collateral, origin: 'pccs', stale: now > facts.nextUpdate, nextUpdate: facts.nextUpdate };
      }
      // Another replica cached a newer bundle meanwhile: serve that one.
      const newer = await this.cache.find(platform);
      if (newer) {
        return { collateral: newer.collateral, origin: 'cache', ...this.freshness(this.accept(newer.collateral, platform, now, check), now, platform) };
      }
      problems.push('the cache refused the fetched bundle');
    } catch (error) {
      if (!(error instanceof CollateralFetchError)) throw error;
      this.metrics.collateralEvents.inc({ source: 'pccs', result: 'failed' });
      this.logger.warn({ fmspc: platform.fmspc, reason: error.message }, 'PCCS fetch failed');
      problems.push(error.message);
    }
    if (usableCache) {
      const freshness = this.freshness(usableCache.facts, now, platform);
      if (!freshness.stale) this.metrics.collateralEvents.inc({ source: 'cache', result: 'cached' });
      return { collateral: usableCache.collateral, origin: 'cache', ...freshness };
    }
    return undefined;
  }

  private freshness(facts: CollateralFacts, now: Date, platform: PlatformId): { stale: boolean; nextUpdate: Date } {
    const stale = now > facts.nextUpdate;
    if (stale) this.noteStale('cache', platform, facts.nextUpdate);
    return { stale, nextUpdate: facts.nextUpdate };
  }

  private noteStale(source: string, platform: PlatformId, nextUpdate: Date): void {
    this.metrics.collateralEvents.inc({ source, result: 'stale' });
    this.logger.warn({ fmspc: platform.fmspc, nextUpdate: nextUpdate.toISOString() }, 'serving stale collateral within COLLATERAL_STALE_GRACE_S');
  }
}

function unavailable(platform: PlatformId, message: string, problems: string[]): DomainError {
  return new DomainError(ErrorCode.COLLATERAL_UNAVAILABLE, message, { fmspc: platform.fmspc, ca: platform.ca, problems });
}
