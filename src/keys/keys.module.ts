/**
 * Key custody (global): provides KeyCustodyService with its KEK ring already loaded and checked,
 * so every consumer, including other providers' start-up hooks, gets a usable service.
 */
import { Global, Module } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { KekChecksRepository } from './kek-checks.repository';
import { KeyCustodyService } from './key-custody.service';

@Global()
@Module({
  providers: [
    KekChecksRepository,
    {
      provide: KeyCustodyService,
      // A factory rather than onModuleInit: Nest runs init hooks of unrelated modules in no
      // promised order, and a provider that seals at start must never see an empty ring.
      useFactory: async (config: AppConfig, kekChecks: KekChecksRepository, clock: Clock) => {
        const custody = new KeyCustodyService(config, kekChecks, clock);
        await custody.load();
        return custody;
      },
      inject: [APP_CONFIG, KekChecksRepository, Clock],
    },
  ],
  exports: [KeyCustodyService],
})
export class KeysModule {}
