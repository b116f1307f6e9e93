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
export type NonceVerdict = 'ok' | 'unknown' | 'expired' | 'wrong_purpose' | 'wrong_client' | 'wrong_server' | 'wrong_hotkey' | 'wrong_vm';

/** A quote nonce's verdict and, when `ok`, the boot attestation that issued it. */
export interface QuoteNonceVerdict {
  verdict: NonceVerdict;
  attestationId: string | null;
}

@Injectable()
export class NonceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(NonceService.name);
  private stopPurge?: () => void;

  constructor(
    private readonly nonces: NoncesRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A boot or runtime nonce; a boot nonce may be bound to a miner hotkey (`?miner_hotkey=`). */
  async issue(purpose: NoncePurpose, clientIp: string, serverId: string | null = null, minerHotkey: string | null = null): Promise<IssuedNonce> {
    const nonce = randomHex(32);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.nonceTtlSeconds * 1000);
    await this.nonces.insert(sha256Hex(nonce), { purpose, clientIp, serverId, expiresAt, minerHotkey }, now);
    return { nonce, expiresAt };
  }

  /** The luks_quote_nonce of a boot (gen C): bound to the VM and the boot attestation, stored in `tx` with the release. */
  async issueQuoteNonce(vm: { minerHotkey: string; vmName: string }, attestationId: string, clientIp: string, tx: Executor): Promise<IssuedNonce> {
    const nonce = randomHex(32);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.nonceTtlSeconds * 1000);
    await this.nonces.insert(sha256Hex(nonce), { purpose: 'quote', clientIp, serverId: null, expiresAt, ...vm, attestationId }, now, tx);
    return { nonce, expiresAt };
  }

  /** Consumes a quote nonce (whatever the later checks decide) and says whether it was issued to this VM. */
  async consumeQuoteNonce(nonce: string, vm: { minerHotkey: string; vmName: string }, tx?: Executor): Promise<QuoteNonceVerdict> {
    if (!isHex32(nonce)) return { verdict: 'unknown', attestationId: null };
    const stored = await this.nonces.take(sha256Hex(nonce), tx);
    const refuse = (verdict: NonceVerdict): QuoteNonceVerdict => ({ verdict, attestationId: null });
    if (!stored) return refuse('unknown');
    if (stored.expiresAt.getTime() <= this.clock.now().getTime()) return refuse('expired');
    if (stored.purpose !== 'quote' || !stored.attestationId) return refuse('wrong_purpose');
    if (stored.minerHotkey !== vm.minerHotkey) return refuse('wrong_hotkey');
    if (stored.vmName !== vm.vmName) return refuse('wrong_vm');
    return { verdict: 'ok', attestationId: stored.attestationId };
  }

  /**
   * Consumes `nonce` atomically and says whether it was valid for this purpose, client and
   * server. Pass `tx` to consume inside a caller's transaction.
   */
  async consume(
    nonce: string,
    purpose: NoncePurpose,
    clientIp: string,
    serverId: string | null = null,
    tx?: Executor,
    minerHotkey?: string,
  ): Promise<NonceVerdict> {
    if (!isHex32(nonce)) return 'unknown';
    const stored = await this.nonces.take(sha256Hex(nonce), tx);
    if (!stored) return 'unknown';
    if (stored.expiresAt.getTime() <= this.clock.now().getTime()) return 'expired';
    if (stored.purpose !== purpose) return 'wrong_purpose';
    if (stored.clientIp !== clientIp) return 'wrong_client';
    if (stored.serverId !== serverId) return 'wrong_server';
    // A nonce issued with ?miner_hotkey= serves only a boot of that miner.
    if (stored.minerHotkey && stored.minerHotkey !== minerHotkey) return 'wrong_hotkey';
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
