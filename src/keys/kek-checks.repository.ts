/** The `kek_checks` table: one sealed key-check value per KEK id the database has seen. */
import { Injectable } from '@nestjs/common';
import { Database } from '../database/executor';
import type { SealedSecret } from './envelope';

interface KekCheckRow {
  kek_id: string;
  wrapped_key: Buffer;
  ciphertext: Buffer;
}

@Injectable()
export class KekChecksRepository {
  constructor(private readonly db: Database) {}

  /** Stores `check` for its KEK id unless one is stored already; true when this call stored it. */
  async insertIfAbsent(check: SealedSecret, createdAt: Date): Promise<boolean> {
    const rows = await this.db.rows<{ kek_id: string }>(
      `INSERT INTO kek_checks (kek_id, wrapped_key, ciphertext, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (kek_id) DO NOTHING RETURNING kek_id`,
      [check.kekId, Buffer.from(check.wrappedKey), Buffer.from(check.ciphertext), createdAt],
    );
    return rows.length > 0;
  }

  /** Every stored check value, by KEK id. */
  async all(): Promise<SealedSecret[]> {
    const rows = await this.db.rows<KekCheckRow>(`SELECT kek_id, wrapped_key, ciphertext FROM kek_checks ORDER BY kek_id`);
    return rows.map((row) => ({ kekId: row.kek_id, wrappedKey: new Uint8Array(row.wrapped_key), ciphertext: new Uint8Array(row.ciphertext) }));
  }
}
