/**
 * One-time boot tokens: 32 random bytes shown once, stored only as SHA-256, bound to
 * (miner hotkey, VM name, boot attestation), valid BOOT_TOKEN_TTL_S. Consumption is one
 * conditional UPDATE inside the caller's transaction, so exactly one sync can use a token.
 * A presented token is only ever compared as its SHA-256 (the row lookup): timing can reveal at
 * most a prefix of a hash, never of the token.
 */
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { schedulePurge } from '../database/expiry-purge';
import { Executor } from '../database/executor';
import { sha256Hex } from '../common/crypto/hashing';
import { isHex32, randomHex } from '../common/crypto/random';
import { BootToken, BootTokensRepository } from './boot-tokens.repository';

export interface BootTokenBinding {
  minerHotkey: string;
  vmName: string;
}

/** How a presented token is stored and looked up (SHA-256 hex), or null when it cannot be a token. */
export function bootTokenHash(token: unknown): string | null {
  return isHex32(token) ? sha256Hex(token) : null;
}

export const invalidBootToken = () => new DomainError(ErrorCode.BOOT_TOKEN_INVALID, 'boot token is missing, invalid, expired or already used');

@Injectable()
export class BootTokensService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('boot-tokens');
  private stopPurge?: () => void;

  constructor(
    private readonly tokens: BootTokensRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Issues a token inside `tx`, the transaction of its attestation row; returns the plaintext (shown once). */
  async issue(binding: BootTokenBinding, attestationId: string, tx: Executor): Promise<string> {
    const token = randomHex(32);
    const now = this.clock.now();
    await this.tokens.insert(
      {
        tokenHash: sha256Hex(token),
        minerHotkey: binding.minerHotkey,
        vmName: binding.vmName,
        attestationId,
        createdAt: now,
        expiresAt: new Date(now.getTime() + this.config.bootTokenTtlSeconds * 1000),
      },
      tx,
    );
    return token;
  }

  /** Checks a token without consuming it; throws BOOT_TOKEN_INVALID unless valid for `binding`. */
  async validate(token: unknown, binding: BootTokenBinding, executor?: Executor): Promise<{ attestationId: string }> {
    if (!isHex32(token)) throw invalidBootToken();
    const found = await this.tokens.findByHash(sha256Hex(token), executor);
    if (!found || !this.usable(found, binding)) throw invalidBootToken();
    return { attestationId: found.attestationId };
  }

  /** Consumes a token atomically inside `tx`; throws unless it was valid. */
  async consume(token: unknown, binding: BootTokenBinding, tx: Executor): Promise<{ attestationId: string }> {
    const consumed = await this.tryConsume(token, binding, tx);
    if (!consumed) throw invalidBootToken();
    return { attestationId: consumed.attestationId };
  }

  /**
   * Like `consume`, but answers null instead of throwing when the token cannot be consumed now
   * (so a caller may still honour an identical retry of the call that spent it).
   */
  async tryConsume(token: unknown, binding: BootTokenBinding, tx: Executor): Promise<{ attestationId: string; tokenHash: string } | null> {
    const tokenHash = bootTokenHash(token);
    if (!tokenHash) return null;
    const consumed = await this.tokens.consume(tokenHash, binding, this.clock.now(), tx);
    return consumed ? { attestationId: consumed.attestationId, tokenHash } : null;
  }

  /** Expired tokens are useless; the attestation rows they point to stay for the audit. */
  purgeExpired(): Promise<number> {
    return this.tokens.purgeExpired(this.clock.now());
  }

  onModuleInit(): void {
    this.stopPurge = schedulePurge(() => this.purgeExpired(), this.logger, 'boot tokens');
  }

  onModuleDestroy(): void {
    this.stopPurge?.();
  }

  private usable(token: BootToken, binding: BootTokenBinding): boolean {
    const bound = token.minerHotkey === binding.minerHotkey && token.vmName === binding.vmName;
    const fresh = token.expiresAt.getTime() > this.clock.now().getTime() && token.consumedAt === null;
    return bound && fresh;
  }
}
