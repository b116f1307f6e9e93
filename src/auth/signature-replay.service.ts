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
import { purgeExpiredRows, schedulePurge } from '../database/expiry-purge';
import { executorFor } from '../database/executor';
import { queryRows } from '../database/sql';
import { sha256Hex } from '../common/crypto/hashing';

@Injectable()
export class SignatureReplayService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SignatureReplayService.name);
  private stopPurge?: () => void;

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

  /** Deletes rows whose signatures can no longer be accepted (in small batches). */
  purgeExpired(): Promise<number> {
    return purgeExpiredRows(executorFor(this.dataSource), 'signature_replays', 'signature_hash', this.clock.now());
  }

  onModuleInit(): void {
    this.stopPurge = schedulePurge(() => this.purgeExpired(), this.logger, 'signature replay rows');
  }

  onModuleDestroy(): void {
    this.stopPurge?.();
  }
}
