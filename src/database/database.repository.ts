/**
 * The SQL the database layer runs on its own behalf: the readiness round trip, the applied
 * migrations, and the batched purge of expired rows that repositories of single-use tables
 * (nonces, boot tokens, signature replays) share.
 */
import { Injectable } from '@nestjs/common';
import { Database, Executor } from './executor';

const PURGE_BATCH = 500;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

@Injectable()
export class DatabaseRepository {
  constructor(private readonly db: Database) {}

  /** Resolves when the database answers; rejects with the driver's error when it does not. */
  async ping(): Promise<void> {
    await this.db.rows('SELECT 1 AS ok');
  }
}

/** The migrations applied so far, oldest first. */
export async function appliedMigrations(executor: Executor): Promise<string[]> {
  const rows = await executor.rows<{ name: string }>(`SELECT name FROM migrations ORDER BY id`);
  return rows.map((row) => row.name);
}

/** Deletes rows of `table` whose `expires_at` is before `now`, a batch at a time (short locks); returns how many. */
export async function purgeExpiredRows(executor: Executor, table: string, keyColumn: string, now: Date): Promise<number> {
  if (!IDENTIFIER.test(table) || !IDENTIFIER.test(keyColumn)) throw new Error(`bad identifier ${table}.${keyColumn}`);
  let total = 0;
  for (;;) {
    const rows = await executor.rows(
      `DELETE FROM ${table} WHERE ${keyColumn} IN (SELECT ${keyColumn} FROM ${table} WHERE expires_at < $1 LIMIT ${PURGE_BATCH}) RETURNING ${keyColumn}`,
      [now],
    );
    total += rows.length;
    if (rows.length < PURGE_BATCH) return total;
  }
}
