/** Provides the TypeORM DataSource (pg or PGlite), migrated, the repositories' Database and its health check; closes it on shutdown. */
import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseTarget, openDatabase } from './data-source';
import { DatabaseRepository } from './database.repository';
import { Database } from './executor';

@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  static forRoot(target: DatabaseTarget): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [{ provide: DataSource, useFactory: () => openDatabase(target) }, Database, DatabaseRepository],
      exports: [DataSource, Database, DatabaseRepository],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
