/** The `miners` table: the allow/block list, keyed by canonical ss58 hotkey. */
import { Injectable } from '@nestjs/common';
import { Database } from '../database/executor';
import { MinerRecord, MinerStatus } from './miner.types';

interface MinerRow {
  hotkey: string;
  status: MinerStatus;
  reason: string | null;
  updated_at: Date;
}

function toRecord(row: MinerRow): MinerRecord {
  return { hotkey: row.hotkey, status: row.status, reason: row.reason, updatedAt: row.updated_at };
}

@Injectable()
export class MinersRepository {
  constructor(private readonly db: Database) {}

  async statusOf(hotkey: string): Promise<MinerStatus | undefined> {
    const rows = await this.db.rows<{ status: MinerStatus }>(`SELECT status FROM miners WHERE hotkey = $1`, [hotkey]);
    return rows[0]?.status;
  }

  /** Creates or replaces the entry for `hotkey`. */
  async upsert(hotkey: string, status: MinerStatus, reason: string | null, updatedAt: Date): Promise<MinerRecord> {
    const rows = await this.db.rows<MinerRow>(
      `INSERT INTO miners (hotkey, status, reason, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (hotkey) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at
       RETURNING hotkey, status, reason, updated_at`,
      [hotkey, status, reason, updatedAt],
    );
    return toRecord(rows[0]);
  }

  /** Deletes the entry; false when there was none. */
  async remove(hotkey: string): Promise<boolean> {
    const rows = await this.db.rows<{ hotkey: string }>(`DELETE FROM miners WHERE hotkey = $1 RETURNING hotkey`, [hotkey]);
    return rows.length > 0;
  }

  /** Every entry, by hotkey. */
  async list(): Promise<MinerRecord[]> {
    const rows = await this.db.rows<MinerRow>(`SELECT hotkey, status, reason, updated_at FROM miners ORDER BY hotkey`);
    return rows.map(toRecord);
  }
}
