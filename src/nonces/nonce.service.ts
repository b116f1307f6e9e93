/**
 * Issues and consumes single-use nonces. Only SHA-256 of a nonce is stored. Consumption is one
 * DELETE … RETURNING: of any number of concurrent consumers exactly one gets the row, and a
 * presented nonce is gone whatever the later checks decide.
 */
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { purgeExpiredRows, schedulePurge } from '../database/expiry-purge';
import { queryRows } from '../database/sql';
import { sha256Hex } from '../common/crypto/hashing';
import { isHex32, randomHex } from '../common/crypto/random';
import { NoncePurpose } from './nonce.entity';

export interface IssuedNonce {
  nonce: string;
  expiresAt: Date;
}

/** Why a nonce was refused; `ok` means it was valid and is now consumed. */
export type NonceVerdict = 'ok' | 'unknown' | 'expired' | 'wrong_purpose' | 'wrong_client' | 'wrong_server';

interface ConsumedRow {
  purpose: NoncePurpose;
  client_ip: string;
  server_id: string | null;
  expires_at: Date | string;
}

@Injectable()
export class NonceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(NonceService.name);
  private stopPurge?: () => void;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async issue(purpose: NoncePurpose, clientIp: string, serverId: string | null = null): Promise<IssuedNonce> {
    const nonce = randomHex(32);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.nonceTtlSeconds * 1000);
    await this.dataSource.query(
      `INSERT INTO nonces (nonce_hash, purpose, client_ip, server_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [sha256Hex(nonce), purpose, clientIp, serverId, now, expiresAt],
    );
    return { nonce, expiresAt };
  }

  /**
   * Consumes `nonce` atomically and says whether it was valid for this purpose, client and
   * server. Pass `manager` to consume inside a caller's transaction.
   */
  async consume(
    nonce: string,
    purpose: NoncePurpose,
    clientIp: string,
    serverId: string | null = null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<NonceVerdict> {
    if (!isHex32(nonce)) return 'unknown';
    const rows = await queryRows<ConsumedRow>(
      manager,
      `DELETE FROM nonces WHERE nonce_hash = $1 RETURNING purpose, client_ip, server_id, expires_at`,
      [sha256Hex(nonce)],
    );
    if (rows.length === 0) return 'unknown';
    const row = rows[0];
    if (new Date(row.expires_at).getTime() <= this.clock.now().getTime()) return 'expired';
    if (row.purpose !== purpose) return 'wrong_purpose';
    if (row.client_ip !== clientIp) return 'wrong_client';
    if ((row.server_id ?? null) !== serverId) return 'wrong_server';
    return 'ok';
  }

  /** Deletes expired nonces (in small batches). */
  purgeExpired(): Promise<number> {
    return purgeExpiredRows(this.dataSource, 'nonces', 'nonce_hash', this.clock.now());
  }

  onModuleInit(): void {
    this.stopPurge = schedulePurge(() => this.purgeExpired(), this.logger, 'nonces');
  }

  onModuleDestroy(): void {
    this.stopPurge?.();
  }
}
