/**
 * Issues and consumes single-use nonces. Only SHA-256 of a nonce is stored. Consumption is one
 * DELETE … RETURNING: of any number of concurrent consumers exactly one gets the row, and a
 * presented nonce is gone whatever the later checks decide.
 */
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { sha256Hex } from '../common/crypto/hashing';
import { isHex32, randomHex } from '../common/crypto/random';
import type { Executor } from '../database/executor';
import { schedulePurge } from '../database/expiry-purge';
import { NoncePurpose } from './nonce.types';
import { NoncesRepository } from './nonces.repository';

export interface IssuedNonce {
  nonce: string;
  expiresAt: Date;
}

/** Why a nonce was refused; `ok` means it was valid and is now consumed. */
export type NonceVerdict = 'ok' | 'unknown' | 'expired' | 'wrong_purpose' | 'wrong_client' | 'wrong_server';

@Injectable()
export class NonceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(NonceService.name);
  private stopPurge?: () => void;

  constructor(
    private readonly nonces: NoncesRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async issue(purpose: NoncePurpose, clientIp: string, serverId: string | null = null): Promise<IssuedNonce> {
    const nonce = randomHex(32);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.nonceTtlSeconds * 1000);
    await this.nonces.insert(sha256Hex(nonce), { purpose, clientIp, serverId, expiresAt }, now);
    return { nonce, expiresAt };
  }

  /**
   * Consumes `nonce` atomically and says whether it was valid for this purpose, client and
   * server. Pass `tx` to consume inside a caller's transaction.
   */
  async consume(nonce: string, purpose: NoncePurpose, clientIp: string, serverId: string | null = null, tx?: Executor): Promise<NonceVerdict> {
    if (!isHex32(nonce)) return 'unknown';
    const stored = await this.nonces.take(sha256Hex(nonce), tx);
    if (!stored) return 'unknown';
    if (stored.expiresAt.getTime() <= this.clock.now().getTime()) return 'expired';
    if (stored.purpose !== purpose) return 'wrong_purpose';
    if (stored.clientIp !== clientIp) return 'wrong_client';
    if (stored.serverId !== serverId) return 'wrong_server';
    return 'ok';
  }

  /** Deletes expired nonces (in small batches). */
  purgeExpired(): Promise<number> {
    return this.nonces.purgeExpired(this.clock.now());
  }

  onModuleInit(): void {
    this.stopPurge = schedulePurge(() => this.purgeExpired(), this.logger, 'nonces');
  }

  onModuleDestroy(): void {
    this.stopPurge?.();
  }
}
