/** `npm run migrate`: bring the configured database's schema up to date, then exit. */
import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config/app-config';
import { databaseTargetFor, openDatabase } from './data-source';
import { appliedMigrations } from './database.repository';
import { executorFor } from './executor';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const dataSource = await openDatabase(databaseTargetFor(config));
  const names = await appliedMigrations(executorFor(dataSource));
  process.stdout.write(`bootkey: schema up to date (${names.length} migrations: ${names.join(', ')})\n`);
  await dataSource.destroy();
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `migration failed: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`bootkey: ${message}\n`);
  process.exit(1);
});
