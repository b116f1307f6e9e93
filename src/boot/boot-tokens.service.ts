/**
 * One-time boot tokens: 32 random bytes shown once, stored only as SHA-256, bound to
 * (miner hotkey, VM name, boot attestation), valid BOOT_TOKEN_TTL_S. Consumption is one
 * conditional UPDATE inside the caller's transaction, so exactly one sync can use a token.
 * A presented token is only ever compared as its SHA-256 (the row lookup): timing can reveal at
 * most a prefix of a hash, never of the token.
 */
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { purgeExpiredRows, schedulePurge } from '../database/expiry-purge';
import { queryRows } from '../database/sql';
import { sha256Hex } from '../common/crypto/hashing';
import { isHex32, randomHex } from '../common/crypto/random';

export interface BootTokenBinding {
  minerHotkey: string;
  vmName: string;
}

interface TokenRow {
  token_hash: string;
  miner_hotkey: string;
  vm_name: string;
  attestation_id: string;
  expires_at: Date | string;
  consumed_at: Date | string | null;
}

export const invalidBootToken = () => new DomainError(ErrorCode.BOOT_TOKEN_INVALID, 'boot token is missing, invalid, expired or already used');

@Injectable()
export class BootTokensService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('boot-tokens');
  private stopPurge?: () => void;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Issues a token inside `manager`'s transaction; returns the plaintext (shown once). */
  async issue(binding: BootTokenBinding, attestationId: string, manager: EntityManager): Promise<string> {
    const token = randomHex(32);
    const now = this.clock.now();
    await manager.query(
      `INSERT INTO boot_tokens (token_hash, miner_hotkey, vm_name, attestation_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [sha256Hex(token), binding.minerHotkey, binding.vmName, attestationId, now, new Date(now.getTime() + this.config.bootTokenTtlSeconds * 1000)],
    );
    return token;
  }

  /** Checks a token without consuming it; throws BOOT_TOKEN_INVALID unless valid for `binding`. */
  async validate(token: unknown, binding: BootTokenBinding, manager: EntityManager = this.dataSource.manager): Promise<{ attestationId: string }> {
    if (!isHex32(token)) throw invalidBootToken();
    const rows = await queryRows<TokenRow>(manager, `SELECT * FROM boot_tokens WHERE token_hash = $1`, [sha256Hex(token)]);
    const row = rows[0];
    if (!row || !this.usable(row, binding)) throw invalidBootToken();
    return { attestationId: row.attestation_id };
  }

  /** Consumes a token atomically inside `manager`'s transaction; throws unless it was valid. */
  async consume(token: unknown, binding: BootTokenBinding, manager: EntityManager): Promise<{ attestationId: string }> {
    if (!isHex32(token)) throw invalidBootToken();
    const now = this.clock.now();
    const rows = await queryRows<TokenRow>(
      manager,
      `UPDATE boot_tokens SET consumed_at = $2
        WHERE token_hash = $1 AND miner_hotkey = $3 AND vm_name = $4 AND consumed_at IS NULL AND expires_at > $2
        RETURNING *`,
      [sha256Hex(token), now, binding.minerHotkey, binding.vmName],
    );
    if (rows.length !== 1) throw invalidBootToken();
    return { attestationId: rows[0].attestation_id };
  }

  /** Expired tokens are useless; the attestation rows they point to stay for the audit. */
  purgeExpired(): Promise<number> {
    return purgeExpiredRows(this.dataSource, 'boot_tokens', 'token_hash', this.clock.now());
  }

  onModuleInit(): void {
    this.stopPurge = schedulePurge(() => this.purgeExpired(), this.logger, 'boot tokens');
  }

  onModuleDestroy(): void {
    this.stopPurge?.();
  }

  private usable(row: TokenRow, binding: BootTokenBinding): boolean {
    const bound = row.miner_hotkey === binding.minerHotkey && row.vm_name === binding.vmName;
    const fresh = new Date(row.expires_at).getTime() > this.clock.now().getTime() && row.consumed_at === null;
    return bound && fresh;
  }
}
