/**
 * Miner admission: the `miners` table (allowed / blocked, with a reason) read against
 * MINER_POLICY. Used by the hotkey guard and by boot attestation, so a blocked miner is refused
 * everywhere. Hotkeys are stored in canonical ss58 form (prefix 42), whatever form was given.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { canonicalSs58, isSs58Address } from '../common/validation/ss58';
import { MINER_REASON_MAX_LENGTH, MINER_STATUSES, MinerRecord, MinerStatus } from './miner.types';
import { MinersRepository } from './miners.repository';

/** `ok`: admitted; `blocked`: listed as blocked; `not_allowed`: allowlist policy and not listed as allowed. */
export type MinerAdmission = 'ok' | 'blocked' | 'not_allowed';

@Injectable()
export class MinersService {
  constructor(
    private readonly miners: MinersRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Whether `hotkey` may use the service under the configured MINER_POLICY. */
  async admission(hotkey: string): Promise<MinerAdmission> {
    const status = await this.statusOf(hotkey);
    if (status === 'blocked') return 'blocked';
    if (this.config.minerPolicy === 'allowlist' && status !== 'allowed') return 'not_allowed';
    return 'ok';
  }

  /** Throws the 403 DomainError matching a refused admission; returns for `ok`. */
  async assertAdmitted(hotkey: string): Promise<void> {
    const admission = await this.admission(hotkey);
    if (admission === 'blocked') throw new DomainError(ErrorCode.MINER_BLOCKED, 'miner is blocked');
    if (admission === 'not_allowed') throw new DomainError(ErrorCode.MINER_NOT_ALLOWED, 'miner is not on the allowlist');
  }

  /** Creates or replaces the entry for `hotkey`. */
  async setStatus(hotkey: string, status: MinerStatus, reason?: string | null): Promise<MinerRecord> {
    if (!MINER_STATUSES.includes(status)) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'status must be allowed or blocked');
    if (reason != null && reason.length > MINER_REASON_MAX_LENGTH) {
      throw new DomainError(ErrorCode.VALIDATION_FAILED, `reason must be at most ${MINER_REASON_MAX_LENGTH} characters`);
    }
    return this.miners.upsert(this.canonical(hotkey), status, reason ?? null, this.clock.now());
  }

  /** Deletes the entry for `hotkey`; false when there was none. */
  async remove(hotkey: string): Promise<boolean> {
    return this.miners.remove(this.canonical(hotkey));
  }

  /** Every entry, by hotkey. */
  async list(): Promise<MinerRecord[]> {
    return this.miners.list();
  }

  private async statusOf(hotkey: string): Promise<MinerStatus | undefined> {
    // An address that does not decode cannot be listed; under allowlist it is simply not allowed.
    if (!isSs58Address(hotkey)) return undefined;
    return this.miners.statusOf(canonicalSs58(hotkey));
  }

  private canonical(hotkey: string): string {
    if (!isSs58Address(hotkey)) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'hotkey must be an ss58 address');
    return canonicalSs58(hotkey);
  }
}
