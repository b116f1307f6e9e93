/**
 * The retention purge: superseded and retired volume key generations that stopped being current
 * more than KEY_RETENTION_DAYS ago are shredded (sealed bytes cleared, the row kept), one VM at
 * a time under its lock, each VM's shredding audited as a `purge` event. Current generations are
 * never touched. Runs every minute off the request path; the clock is injected.
 */
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { schedulePurge } from '../database/expiry-purge';
import { Database } from '../database/executor';
import { MetricsService } from '../ops/metrics.service';
import { KeyReleaseEventsRepository } from '../audit/key-release-events.repository';
import { generationsByVolume } from './luks.service';
import { VolumeKeysRepository } from './volume-keys.repository';

/** Due rows read per round: each round then shreds everything due of the VMs they belong to. */
const BATCH = 500;
const DAY_MS = 86_400_000;

@Injectable()
export class KeyRetentionService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('key-retention');
  private stopPurge?: () => void;

  constructor(
    private readonly db: Database,
    private readonly volumeKeys: VolumeKeysRepository,
    private readonly keyReleases: KeyReleaseEventsRepository,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.stopPurge = schedulePurge(() => this.purgeExpired(), this.logger, 'volume key generations past KEY_RETENTION_DAYS');
  }

  onModuleDestroy(): void {
    this.stopPurge?.();
  }

  /** Shreds every generation past the retention window; returns how many generations. */
  async purgeExpired(): Promise<number> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - this.config.keyRetentionDays * DAY_MS);
    let total = 0;
    for (;;) {
      const vms = await this.volumeKeys.vmsWithNoncurrentBefore(cutoff, BATCH);
      let round = 0;
      for (const vm of vms) {
        round += await this.db.transaction(async (tx) => {
          if (!(await this.volumeKeys.lockExistingVm(vm, tx))) return 0;
          const shredded = await this.volumeKeys.shredNoncurrentBefore(vm, cutoff, now, tx);
          if (shredded.length === 0) return 0; // restored or shredded meanwhile
          await this.keyReleases.insert(
            {
              kind: 'purge',
              createdAt: now,
              ...vm,
              attestationId: null,
              clientIp: null,
              pruned: [...new Set(shredded.map((ref) => ref.volume))],
              detail: { generations: generationsByVolume(shredded), retention_days: this.config.keyRetentionDays, cutoff: cutoff.toISOString() },
            },
            tx,
          );
          return shredded.length;
        });
      }
      total += round;
      // Nothing shredded in a round means the rows left are not due any more: stop.
      if (vms.length === 0 || round === 0) break;
    }
    if (total > 0) this.metrics.keyGenerationsShredded.inc({ reason: 'purge' }, total);
    return total;
  }
}
