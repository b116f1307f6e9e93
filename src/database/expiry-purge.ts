/**
 * Single-use tables (nonces, signature replays) are purged off the request path, in small
 * batches so no statement holds its locks for long.
 */
import type { Logger } from '@nestjs/common';
import type { Executor } from './executor';

const BATCH = 500;
const INTERVAL_MS = 60_000;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Deletes rows of `table` whose `expires_at` is before `now`, `BATCH` at a time; returns how many. */
export async function purgeExpiredRows(executor: Executor, table: string, keyColumn: string, now: Date): Promise<number> {
  if (!IDENTIFIER.test(table) || !IDENTIFIER.test(keyColumn)) throw new Error(`bad identifier ${table}.${keyColumn}`);
  let total = 0;
  for (;;) {
    const rows = await executor.rows(
      `DELETE FROM ${table} WHERE ${keyColumn} IN (SELECT ${keyColumn} FROM ${table} WHERE expires_at < $1 LIMIT ${BATCH}) RETURNING ${keyColumn}`,
      [now],
    );
    total += rows.length;
    if (rows.length < BATCH) return total;
  }
}

/** Runs `purge` every minute (never keeping the process alive); returns a function that stops it. */
export function schedulePurge(purge: () => Promise<number>, logger: Logger, what: string): () => void {
  const timer = setInterval(() => {
    purge().then(
      (count) => count > 0 && logger.log(`purged ${count} expired ${what}`),
      (error: unknown) => logger.warn(`${what} purge failed: ${(error as Error).message}`),
    );
  }, INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
