/** boot_tokens: one-time tokens, stored only as their SHA-256, each tied to a boot attestation row. */
import { Injectable } from '@nestjs/common';
import { purgeExpiredRows } from '../database/database.repository';
import { Database, Executor } from '../database/executor';

export interface BootToken {
  tokenHash: string;
  minerHotkey: string;
  vmName: string;
  attestationId: string;
  createdAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
}

interface BootTokenRow {
  token_hash: string;
  miner_hotkey: string;
  vm_name: string;
  attestation_id: string;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

function toBootToken(row: BootTokenRow): BootToken {
  return {
    tokenHash: row.token_hash,
    minerHotkey: row.miner_hotkey,
    vmName: row.vm_name,
    attestationId: row.attestation_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
  };
}

@Injectable()
export class BootTokensRepository {
  constructor(private readonly db: Database) {}

  /** Stores a new token in `tx`, the transaction that writes its attestation row. */
  async insert(token: Omit<BootToken, 'consumedAt'>, tx: Executor): Promise<void> {
    await tx.rows(`INSERT INTO boot_tokens (token_hash, miner_hotkey, vm_name, attestation_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
      token.tokenHash,
      token.minerHotkey,
      token.vmName,
      token.attestationId,
      token.createdAt,
      token.expiresAt,
    ]);
  }

  async findByHash(tokenHash: string, executor: Executor = this.db): Promise<BootToken | null> {
    const rows = await executor.rows<BootTokenRow>(`SELECT * FROM boot_tokens WHERE token_hash = $1`, [tokenHash]);
    return rows[0] ? toBootToken(rows[0]) : null;
  }

  /**
   * Marks the token consumed at `now` if, in this one statement, it is bound to (hotkey, VM),
   * unconsumed and unexpired: of two concurrent uses exactly one gets the token back.
   */
  async consume(tokenHash: string, binding: { minerHotkey: string; vmName: string }, now: Date, tx: Executor): Promise<BootToken | null> {
    const rows = await tx.rows<BootTokenRow>(
      `UPDATE boot_tokens SET consumed_at = $2
        WHERE token_hash = $1 AND miner_hotkey = $3 AND vm_name = $4 AND consumed_at IS NULL AND expires_at > $2
        RETURNING *`,
      [tokenHash, now, binding.minerHotkey, binding.vmName],
    );
    return rows.length === 1 ? toBootToken(rows[0]) : null;
  }

  /** Deletes tokens expired before `now`; the attestation rows they point to stay. */
  purgeExpired(now: Date): Promise<number> {
    return purgeExpiredRows(this.db, 'boot_tokens', 'token_hash', now);
  }
}
