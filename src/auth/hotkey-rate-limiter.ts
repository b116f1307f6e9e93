/**
 * Per-hotkey rate limit of signed requests (RATE_LIMIT_SIGNED_PER_MIN, 0 = off): a fixed
 * one-minute window per verified hotkey, in this replica's memory, like the per-IP limit of
 * the anonymous routes. It is counted after the signature verifies (so nobody can spend
 * another hotkey's budget) and before anything is written (so a flood writes no rows).
 */
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError, ErrorCode } from '../common/errors';

const WINDOW_MS = 60_000;

@Injectable()
export class HotkeyRateLimiter implements OnModuleDestroy {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), WINDOW_MS);
    this.sweeper.unref();
  }

  /** Counts one signed request of `hotkey` (canonical ss58); throws RATE_LIMITED past the limit. */
  hit(hotkey: string): void {
    const limit = this.config.rateLimitSignedPerMin;
    if (limit === 0) return;
    // Wall-clock time on purpose: the limit protects the process, not a protocol decision.
    const now = Date.now();
    let window = this.windows.get(hotkey);
    if (!window || now - window.start >= WINDOW_MS) {
      window = { start: now, count: 0 };
      this.windows.set(hotkey, window);
    }
    window.count++;
    if (window.count > limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil((window.start + WINDOW_MS - now) / 1000));
      throw new DomainError(ErrorCode.RATE_LIMITED, `too many signed requests from this hotkey; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
  }

  private sweep(now: number): void {
    for (const [hotkey, window] of this.windows) if (now - window.start >= WINDOW_MS) this.windows.delete(hotkey);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }
}
