/**
 * Builds TypeORM DataSource options for the configured engine: PostgreSQL through `pg` when
 * DATABASE_URL is set, else PGlite under DATA_DIR. Schema changes come only from migrations.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { MIGRATIONS } from '../../migrations';
import { pgliteDriver } from './pglite-driver';

export interface DatabaseTarget {
  /** postgres:// URL; absent → embedded PGlite. */
  url?: string;
  /** PGlite data directory; absent with no url → in-memory PGlite (tests). */
  pgliteDir?: string;
  /** PostgreSQL schema to use (tests isolate themselves in their own). Default `public`. */
  schema?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function dataSourceOptions(target: DatabaseTarget): DataSourceOptions {
  const schema = target.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid database schema name "${schema}"`);
  const common = {
    type: 'postgres' as const,
    schema,
    // Repositories run raw SQL through the Executor; TypeORM maps no entities.
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
  };
  if (target.url) {
    return {
      ...common,
      url: target.url,
      // Every session works in its schema, so raw SQL needs no qualification.
      extra: { options: `-c search_path=${schema}`, max: 10, connectionTimeoutMillis: 5000 },
    };
  }
  if (target.pgliteDir) fs.mkdirSync(target.pgliteDir, { recursive: true, mode: 0o700 });
  return { ...common, driver: pgliteDriver({ dataDir: target.pgliteDir }) };
}

/** Opens the database and brings its schema up to date (creating the schema if needed). */
export async function openDatabase(target: DatabaseTarget): Promise<DataSource> {
  const options = dataSourceOptions(target);
  const dataSource = new DataSource(options);
  await dataSource.initialize();
  try {
    const schema = target.schema ?? 'public';
    await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await dataSource.query(`SET search_path TO "${schema}"`);
    await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
  return dataSource;
}

export function pgliteDirFor(dataDir: string): string {
  return path.join(dataDir, 'pglite');
}

/** The database the config asks for: PostgreSQL when DATABASE_URL is set, else PGlite in DATA_DIR. */
export function databaseTargetFor(config: AppConfig): DatabaseTarget {
  return config.databaseUrl ? { url: config.databaseUrl } : { pgliteDir: pgliteDirFor(config.dataDir) };
}
