/**
 * Provides the validated AppConfig to every module (global), and the settings that the layer below
 * (common) declares a token for, since common may not import config.
 */
import { DynamicModule, Global, Module } from '@nestjs/common';
import { TRUSTED_PROXIES } from '../common/client/client-identity.service';
import { ANON_RATE_LIMIT_PER_MIN } from '../common/rate-limit/anon-rate-limit.guard';
import { AppConfig, trustedProxyList } from './app-config';

export const APP_CONFIG = Symbol('APP_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: TRUSTED_PROXIES, useValue: trustedProxyList(config.trustProxy) },
        { provide: ANON_RATE_LIMIT_PER_MIN, useValue: config.rateLimitAnonPerMin },
      ],
      exports: [APP_CONFIG, TRUSTED_PROXIES, ANON_RATE_LIMIT_PER_MIN],
    };
  }
}
