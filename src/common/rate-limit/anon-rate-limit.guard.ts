/**
 * Per-client-IP rate limit for the anonymous endpoints (RATE_LIMIT_ANON_PER_MIN, 0 = off): a
 * fixed one-minute window per IP, in this replica's memory (behind N replicas the effective
 * limit is up to N times higher; that is the price of keeping the hot path off the database).
 * Refusals are 429 with Retry-After, before the handler runs: metered and logged, not audited.
 */
import { CanActivate, ExecutionContext, Inject, Injectable, OnModuleDestroy, applyDecorators, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClientIdentityService } from '../client/client-identity.service';
import { DomainError, ErrorCode } from '../errors';

const WINDOW_MS = 60_000;

/** RATE_LIMIT_ANON_PER_MIN as a number (0 = off); ConfigModule provides it (common sits below config). */
export const ANON_RATE_LIMIT_PER_MIN = Symbol('ANON_RATE_LIMIT_PER_MIN');

/** The counters, one per process (guards are instantiated per module; the state must not be). */
@Injectable()
export class AnonRateLimiter implements OnModuleDestroy {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(@Inject(ANON_RATE_LIMIT_PER_MIN) private readonly limit: number) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), WINDOW_MS);
    this.sweeper.unref();
  }

  /** Counts one request from `ip`; throws RATE_LIMITED past the limit. */
  hit(ip: string): void {
    if (this.limit === 0) return;
    // Wall-clock time on purpose: the limit protects the process, not a protocol decision.
    const now = Date.now();
    let window = this.windows.get(ip);
    if (!window || now - window.start >= WINDOW_MS) {
      window = { start: now, count: 0 };
      this.windows.set(ip, window);
    }
    window.count++;
    if (window.count > this.limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil((window.start + WINDOW_MS - now) / 1000));
      throw new DomainError(ErrorCode.RATE_LIMITED, `too many requests from this address; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
  }

  private sweep(now: number): void {
    for (const [ip, window] of this.windows) if (now - window.start >= WINDOW_MS) this.windows.delete(ip);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }
}

@Injectable()
export class AnonRateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: AnonRateLimiter,
    private readonly identity: ClientIdentityService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    this.limiter.hit(this.identity.ip(context.switchToHttp().getRequest<FastifyRequest>()));
    return true;
  }
}

/** Marks a route anonymous and rate-limited per client IP. */
export const AnonymousRateLimited = () => applyDecorators(UseGuards(AnonRateLimitGuard));
