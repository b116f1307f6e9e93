/** Cross-cutting providers: the clock and the client identity of a request. */
import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from './clock/clock';
import { ClientIdentityService } from './client/client-identity.service';
import { AnonRateLimiter, AnonRateLimitGuard } from './rate-limit/anon-rate-limit.guard';

@Global()
@Module({})
export class CommonModule {
  static forRoot(clock: Clock = new SystemClock()): DynamicModule {
    return {
      module: CommonModule,
      providers: [{ provide: Clock, useValue: clock }, ClientIdentityService, AnonRateLimiter, AnonRateLimitGuard],
      exports: [Clock, ClientIdentityService, AnonRateLimiter, AnonRateLimitGuard],
    };
  }
}
