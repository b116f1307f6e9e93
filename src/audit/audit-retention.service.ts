/**
 * AUDIT_RETENTION_DAYS (default 400; 0 keeps everything): audit rows older than that — boot,
 * registration and runtime attempts, key-release events — are deleted by a job off the request
 * path, every minute, in batches of at most BATCH rows per statement, so no statement holds its
 * locks for long and boots keep writing their own rows meanwhile. Each server's newest attempt
 * of each kind is kept (its status shows it), as is an attempt a live boot token points to.
 */
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { schedulePurge } from '../database/expiry-purge';
import { Database } from '../database/executor';
import { AttestationAuditRepository } from './attestation-audit.repository';
import { KeyReleaseEventsRepository } from './key-release-events.repository';

export const AUDIT_PURGE_BATCH = 1000;
const DAY_MS = 86_400_000;

@Injectable()
export class AuditRetention implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('audit-retention');
  private stopPurge?: () => void;

  constructor(
    private readonly attestations: AttestationAuditRepository,
    private readonly releases: KeyReleaseEventsRepository,
    private readonly db: Database,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Deletes every audit row older than the retention, `batch` rows per statement; returns how many. */
  async purge(batch = AUDIT_PURGE_BATCH): Promise<number> {
    if (this.config.auditRetentionDays <= 0) return 0;
    const before = new Date(this.clock.now().getTime() - this.config.auditRetentionDays * DAY_MS);
    const tables: ((limit: number) => Promise<number>)[] = [
      (limit) => this.attestations.purgeBootBefore(before, limit),
      (limit) => this.attestations.purgeServerBefore(before, limit),
      (limit) => this.releases.purgeBefore(before, limit, this.db),
    ];
    let total = 0;
    for (const purgeBatch of tables) {
      for (;;) {
        const deleted = await purgeBatch(batch);
        total += deleted;
        if (deleted < batch) break;
      }
    }
    return total;
  }

  onModuleInit(): void {
    if (this.config.auditRetentionDays > 0) {
      this.stopPurge = schedulePurge(() => this.purge(), this.logger, `audit rows older than ${this.config.auditRetentionDays} days`);
    }
  }

  onModuleDestroy(): void {
    this.stopPurge?.();
  }
}
