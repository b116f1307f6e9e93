/** Cross-cutting providers: the clock and the client identity of a request. */
import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from './clock/clock';
import { ClientIdentityService } from './client/client-identity.service';

@Global()
@Module({})
export class CommonModule {
  static forRoot(clock: Clock = new SystemClock()): DynamicModule {
    return {
      module: CommonModule,
      providers: [{ provide: Clock, useValue: clock }, ClientIdentityService],
      exports: [Clock, ClientIdentityService],
    };
  }
}
