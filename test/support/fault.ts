/**
 * Fault injection for e2e tests: a trigger that makes one kind of statement on one table fail
 * with a plain SQL error (SQLSTATE P0001: neither a DomainError nor "database unavailable"),
 * standing in for any unexpected failure of a dependency. Works on PGlite and PostgreSQL alike
 * (the trigger lives in the test file's own schema).
 */
import type { DataSource } from 'typeorm';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Makes every `event` on `table` raise until the returned function removes the trigger. */
export async function failEvery(dataSource: DataSource, event: 'INSERT' | 'UPDATE' | 'DELETE', table: string): Promise<() => Promise<void>> {
  if (!IDENTIFIER.test(table)) throw new Error(`bad table name ${table}`);
  const name = `test_fault_${event.toLowerCase()}_${table}`;
  await dataSource.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected test fault'; END $$`);
  await dataSource.query(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  return async () => {
    await dataSource.query(`DROP TRIGGER ${name} ON ${table}`);
    await dataSource.query(`DROP FUNCTION ${name}()`);
  };
}

/** Runs `work` while every `event` on `table` fails; the trigger is gone afterwards, whatever happened. */
export async function whileFailing<T>(dataSource: DataSource, event: 'INSERT' | 'UPDATE' | 'DELETE', table: string, work: () => Promise<T>): Promise<T> {
  const restore = await failEvery(dataSource, event, table);
  try {
    return await work();
  } finally {
    await restore();
  }
}
