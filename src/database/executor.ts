/**
 * The one way repositories run SQL, inside or outside a transaction, on pg and on PGlite alike.
 * Driver differences are removed here and nowhere else:
 * - TypeORM returns `[rows, rowCount]` for UPDATE/DELETE but plain rows for SELECT;
 * - bytea arrives as Buffer from pg and as Uint8Array from PGlite (always Buffer here);
 * - int8/numeric arrive as strings from pg and numbers from PGlite: cast counts with `::int`
 *   in SQL (int4 is a number on both).
 * timestamptz is a Date and json/jsonb an object/array on both engines, so rows need no more.
 */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface Executor {
  /** Runs one statement and returns its rows (RETURNING rows for writes; [] when none). */
  rows<T extends object>(sql: string, parameters?: unknown[]): Promise<T[]>;
}

/** Anything TypeORM can run raw SQL on: the DataSource, or a transaction's EntityManager. */
interface TypeOrmQueryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

class TypeOrmExecutor implements Executor {
  constructor(private readonly queryable: TypeOrmQueryable) {}

  async rows<T extends object>(sql: string, parameters: unknown[] = []): Promise<T[]> {
    const result = await this.queryable.query(sql, parameters);
    const rows = isRowsAndCount(result) ? result[0] : Array.isArray(result) ? result : [];
    return rows.map(normaliseRow) as T[];
  }
}

/**
 * The database as repositories see it: an Executor outside any transaction, and the way to
 * open one. Work inside `transaction` gets its own Executor; pass it to every repository call
 * that must commit or roll back together.
 */
@Injectable()
export class Database implements Executor {
  private readonly outside: Executor;

  constructor(private readonly dataSource: DataSource) {
    this.outside = new TypeOrmExecutor(dataSource);
  }

  rows<T extends object>(sql: string, parameters?: unknown[]): Promise<T[]> {
    return this.outside.rows<T>(sql, parameters);
  }

  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager: EntityManager) => work(new TypeOrmExecutor(manager)));
  }
}

/** An Executor over a bare TypeORM DataSource (migrations CLI, start-up checks, tests). */
export function executorFor(queryable: TypeOrmQueryable): Executor {
  return new TypeOrmExecutor(queryable);
}

function isRowsAndCount(result: unknown): result is [object[], number] {
  return Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number';
}

function normaliseRow(row: unknown): unknown {
  if (row === null || typeof row !== 'object') return row;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
  }
  return out;
}
