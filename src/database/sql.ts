/**
 * @deprecated Use `Executor` (src/database/executor.ts), which removes every driver difference
 * once. Kept only until its last callers (keys, nonces, miners, measurements, collateral,
 * auth) move to repositories; the last of them deletes this file.
 */

interface QueryExecutor {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * @deprecated Use a repository over `Executor` (executor.ts), which also normalises bytea.
 * Kept only for code other branches still migrate; removed when they merge.
 *
 * Runs `sql` and returns its rows. TypeORM returns `[rows, rowCount]` for UPDATE/DELETE on pg
 * but plain rows on PGlite (and for SELECT); rows are objects, so the shapes cannot be confused.
 */
export async function queryRows<T>(executor: QueryExecutor, sql: string, parameters: unknown[] = []): Promise<T[]> {
  const result = await executor.query(sql, parameters);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return (Array.isArray(result) ? result : []) as T[];
}
