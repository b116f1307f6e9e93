/**
 * Finds DCAP collateral for a quote's platform. Order: COLLATERAL_DIR (offline sites), then the
 * PostgreSQL cache of PCCS answers, refreshed from the PCCS before it goes stale; when no PCCS
 * answers, cached or directory collateral is still served up to COLLATERAL_STALE_GRACE_S past
 * its nextUpdate (logged and metered). Beyond that: 503 COLLATERAL_UNAVAILABLE — not a
 * rejection, the VM retries.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { Clock } from '../../common/clock/clock';
import { DomainError, ErrorCode } from '../../common/errors';
import { queryRows } from '../../database/sql';
import { MetricsService } from '../../ops/metrics.service';
import type { QuoteCollateral } from '../core/dcap';
import { pckPlatformOfLeaf } from '../core/dcap/pck-extension';
import type { TdxQuote } from '../core/quote';
import { CollateralFetchError, CollateralSource, PckCaType, collateralNextUpdate } from './collateral-source';
import { DirectoryCollateralSource } from './directory-source';
import { PccsCollateralSource } from './pccs-client';

/** Re-fetch cached collateral this often even before nextUpdate (TCB recoveries show up early). */
const REFRESH_AFTER_MS = 60 * 60 * 1000;

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

interface CacheRow {
  bundle: string;
  next_update: Date | string;
  fetched_at: Date | string;
}

/** FMSPC and PCK CA of the platform that produced `quote`, from its PCK leaf certificate. */
export function platformOf(quote: TdxQuote): PlatformId {
  const platform = pckPlatformOfLeaf(quote.signature.qeCertification.pckCertChain.certificatesDer[0]);
  if (!platform) throw new DomainError(ErrorCode.PCK_CHAIN_INVALID, 'PCK certificate has no readable FMSPC');
  return { fmspc: Buffer.from(platform.fmspc).toString('hex'), ca: platform.processorCa ? 'processor' : 'platform' };
}

@Injectable()
export class CollateralService {
  private readonly logger = new Logger('collateral');
  private readonly directory?: DirectoryCollateralSource;
  private readonly pccs?: CollateralSource;
  private readonly inFlight = new Map<string, Promise<CollateralResult>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
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

  async forPlatform(platform: PlatformId): Promise<CollateralResult> {
    const key = `${platform.fmspc}|${platform.ca}`;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const lookup = this.lookup(platform).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, lookup);
    return lookup;
  }

  private graceMs(): number {
    return this.config.collateralStaleGraceSeconds * 1000;
  }

  private usable(nextUpdate: Date, now: Date): boolean {
    return now.getTime() <= nextUpdate.getTime() + this.graceMs();
  }

  private async lookup(platform: PlatformId): Promise<CollateralResult> {
    const now = this.clock.now();
    let expiredDirectory = false;
    if (this.directory) {
      try {
        const collateral = await this.directory.fetch(platform.fmspc, platform.ca);
        const nextUpdate = collateralNextUpdate(collateral);
        if (this.usable(nextUpdate, now)) {
          const stale = now > nextUpdate;
          if (stale) this.noteStale('directory', platform, nextUpdate);
          return { collateral, origin: 'directory', stale, nextUpdate };
        }
        expiredDirectory = true;
      } catch (error) {
        if (!(error instanceof CollateralFetchError)) throw error;
      }
    }
    if (this.pccs) return this.fromPccs(platform, now);
    throw new DomainError(
      ErrorCode.COLLATERAL_UNAVAILABLE,
      expiredDirectory ? 'collateral for this platform is past its grace period; retry later' : 'no collateral for this platform; retry later',
      { fmspc: platform.fmspc },
    );
  }

  private async fromPccs(platform: PlatformId, now: Date): Promise<CollateralResult> {
    const cached = await this.readCache(platform);
    if (cached && now < cached.nextUpdate && now.getTime() - cached.fetchedAt.getTime() < REFRESH_AFTER_MS) {
      return { collateral: cached.collateral, origin: 'cache', stale: false, nextUpdate: cached.nextUpdate };
    }
    try {
      const collateral = await this.pccs!.fetch(platform.fmspc, platform.ca);
      const nextUpdate = collateralNextUpdate(collateral);
      await this.writeCache(platform, collateral, nextUpdate, now);
      this.metrics.collateralEvents.inc({ source: 'pccs', result: 'fresh' });
      return { collateral, origin: 'pccs', stale: now > nextUpdate, nextUpdate };
    } catch (error) {
      if (!(error instanceof CollateralFetchError)) throw error;
      this.metrics.collateralEvents.inc({ source: 'pccs', result: 'failed' });
      this.logger.warn({ fmspc: platform.fmspc, reason: error.message }, 'PCCS fetch failed');
      if (cached && this.usable(cached.nextUpdate, now)) {
        const stale = now > cached.nextUpdate;
        if (stale) this.noteStale('cache', platform, cached.nextUpdate);
        else this.metrics.collateralEvents.inc({ source: 'cache', result: 'cached' });
        return { collateral: cached.collateral, origin: 'cache', stale, nextUpdate: cached.nextUpdate };
      }
      throw new DomainError(ErrorCode.COLLATERAL_UNAVAILABLE, 'collateral unavailable (PCCS unreachable and nothing cached within grace); retry later', {
        fmspc: platform.fmspc,
        reason: error.message,
      });
    }
  }

  private noteStale(source: string, platform: PlatformId, nextUpdate: Date): void {
    this.metrics.collateralEvents.inc({ source, result: 'stale' });
    this.logger.warn({ fmspc: platform.fmspc, nextUpdate: nextUpdate.toISOString() }, 'serving stale collateral within COLLATERAL_STALE_GRACE_S');
  }

  private async readCache(platform: PlatformId): Promise<{ collateral: QuoteCollateral; nextUpdate: Date; fetchedAt: Date } | undefined> {
    const rows = await queryRows<CacheRow>(this.dataSource, `SELECT bundle, next_update, fetched_at FROM collateral_cache WHERE fmspc = $1 AND ca = $2`, [
      platform.fmspc,
      platform.ca,
    ]);
    if (rows.length === 0) return undefined;
    return { collateral: JSON.parse(rows[0].bundle) as QuoteCollateral, nextUpdate: new Date(rows[0].next_update), fetchedAt: new Date(rows[0].fetched_at) };
  }

  private async writeCache(platform: PlatformId, collateral: QuoteCollateral, nextUpdate: Date, now: Date): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO collateral_cache (fmspc, ca, bundle, next_update, fetched_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (fmspc, ca) DO UPDATE SET bundle = EXCLUDED.bundle, next_update = EXCLUDED.next_update, fetched_at = EXCLUDED.fetched_at`,
      [platform.fmspc, platform.ca, JSON.stringify(collateral), nextUpdate, now],
    );
  }
}
