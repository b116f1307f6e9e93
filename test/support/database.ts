/**
 * Where a test file's data lives. With TEST_DATABASE_URL (CI's second run) each file gets a
 * PostgreSQL schema of its own, dropped afterwards; without it, an in-memory PGlite of its own.
 * Either way parallel workers and the two CI runs never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DatabaseTarget } from '../../src/database/data-source';

export const usingPostgres = Boolean(process.env.TEST_DATABASE_URL);

export interface TestDatabase {
  target: DatabaseTarget;
  engine: 'postgresql' | 'pglite';
  drop(): Promise<void>;
}

export function testDatabase(label: string, pgliteDir?: string): TestDatabase {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return { target: { pgliteDir }, engine: 'pglite', drop: () => Promise.resolve() };
  const schema = `t_${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  return {
    target: { url, schema },
    engine: 'postgresql',
    drop: async () => {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
