/** `npm run migrate`: bring the configured database's schema up to date, then exit. */
import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config/app-config';
import { databaseTargetFor, openDatabase } from './data-source';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const dataSource = await openDatabase(databaseTargetFor(config));
  const rows: { name: string }[] = await dataSource.query(`SELECT name FROM migrations ORDER BY id`);
  process.stdout.write(`bootkey: schema up to date (${rows.length} migrations: ${rows.map((r) => r.name).join(', ')})\n`);
  await dataSource.destroy();
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `migration failed: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`bootkey: ${message}\n`);
  process.exit(1);
});
