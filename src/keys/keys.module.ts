/**
 * Key custody (global): provides KeyCustodyService with its KEK ring already loaded and checked,
 * so every consumer, including other providers' start-up hooks, gets a usable service.
 */
import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { KeyCustodyService } from './key-custody.service';

@Global()
@Module({
  providers: [
    {
      provide: KeyCustodyService,
      // A factory rather than onModuleInit: Nest runs init hooks of unrelated modules in no
      // promised order, and a provider that seals at start must never see an empty ring.
      useFactory: async (config: AppConfig, dataSource: DataSource, clock: Clock) => {
        const custody = new KeyCustodyService(config, dataSource, clock);
        await custody.load();
        return custody;
      },
      inject: [APP_CONFIG, DataSource, Clock],
    },
  ],
  exports: [KeyCustodyService],
})
export class KeysModule {}
