/**
 * The replay cache of hotkey signatures (`signature_replays`). A signature is recorded by one
 * INSERT … ON CONFLICT DO NOTHING RETURNING: of any number of concurrent requests carrying it,
 * exactly one gets the row and the others are replays. Only SHA-256 of the signature bytes is
 * stored, so `0x`/case variants of one signature are the same key. Rows are purged once their
 * timestamp has left the window, in batches and off the request path.
 */
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { queryRows } from '../database/sql';
import { sha256Hex } from '../keys/secrets';

const PURGE_BATCH = 500;
const PURGE_INTERVAL_MS = 60_000;

@Injectable()
export class SignatureReplayService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SignatureReplayService.name);
  private purgeTimer?: NodeJS.Timeout;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** Records `signature` as used until `expiresAt`; false if it had been used already. */
  async recordOnce(signature: Uint8Array, hotkey: string, expiresAt: Date): Promise<boolean> {
    const rows = await queryRows<{ signature_hash: string }>(
      this.dataSource,
      `INSERT INTO signature_replays (signature_hash, hotkey, seen_at, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (signature_hash) DO NOTHING RETURNING signature_hash`,
      [sha256Hex(signature), hotkey, this.clock.now(), expiresAt],
    );
    return rows.length === 1;
  }

  /** Deletes rows whose signatures can no longer be accepted, in small batches. */
  async purgeExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await queryRows<{ signature_hash: string }>(
        this.dataSource,
        `DELETE FROM signature_replays WHERE signature_hash IN (
           SELECT signature_hash FROM signature_replays WHERE expires_at < $1 LIMIT ${PURGE_BATCH}
         ) RETURNING signature_hash`,
        [this.clock.now()],
      );
      total += rows.length;
      if (rows.length < PURGE_BATCH) return total;
    }
  }

  onModuleInit(): void {
    this.purgeTimer = setInterval(() => {
      this.purgeExpired().then(
        (count) => count > 0 && this.logger.log(`purged ${count} expired signature replay rows`),
        (error: unknown) => this.logger.warn(`signature replay purge failed: ${(error as Error).message}`),
      );
    }, PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
  }
}
