/**
 * The replay cache of hotkey signatures: decides which use of a signature is new. A v2 signature
 * is accepted once. A v1 (Chutes) signature is bound to the HTTP method of its first use and
 * may then be used once per method + path (real miner tools loop over servers with one header
 * set). Only SHA-256 of the signature bytes is stored, so `0x`/case variants of one signature
 * are the same key. Rows are purged once their timestamp has left the window, in batches and
 * off the request path.
 */
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { schedulePurge } from '../database/expiry-purge';
import { sha256Hex } from '../common/crypto/hashing';
import { SignatureReplaysRepository, SignatureUse } from './signature-replays.repository';
import { SignatureVersion, useTarget } from './signed-request';

export interface SignatureUseRequest {
  signature: Uint8Array;
  version: SignatureVersion;
  /** Canonical ss58 of the signer. */
  hotkey: string;
  method: string;
  /** The request path with its query, as received. */
  pathWithQuery: string;
  expiresAt: Date;
}

@Injectable()
export class SignatureReplayService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SignatureReplayService.name);
  private stopPurge?: () => void;

  constructor(
    private readonly replays: SignatureReplaysRepository,
    private readonly clock: Clock,
  ) {}

  /** Records this use of a signature: `fresh` when it may proceed, else why not. */
  async recordUse(request: SignatureUseRequest): Promise<SignatureUse> {
    const method = request.method.toUpperCase();
    const record = { signatureHash: sha256Hex(request.signature), hotkey: request.hotkey, method, seenAt: this.clock.now(), expiresAt: request.expiresAt };
    if (request.version === 2) return (await this.replays.recordV2(record)) ? 'fresh' : 'replayed';
    const target = useTarget(method, request.pathWithQuery);
    return this.replays.recordV1({ ...record, targetHash: sha256Hex(target), path: request.pathWithQuery });
  }

  /** Deletes rows whose signatures can no longer be accepted (in small batches). */
  purgeExpired(): Promise<number> {
    return this.replays.purgeExpired(this.clock.now());
  }

  onModuleInit(): void {
    this.stopPurge = schedulePurge(() => this.purgeExpired(), this.logger, 'signature replay rows');
  }

  onModuleDestroy(): void {
    this.stopPurge?.();
  }
}
