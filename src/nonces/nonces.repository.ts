/** The `nonces` table: one row per unconsumed nonce, keyed by the nonce's SHA-256 (hex). */
import { Injectable } from '@nestjs/common';
import { Database, Executor } from '../database/executor';
import { NonceBinding, NoncePurpose } from './nonce.types';

interface NonceRow {
  purpose: NoncePurpose;
  client_ip: string;
  server_id: string | null;
  expires_at: Date;
  miner_hotkey: string | null;
  vm_name: string | null;
  attestation_id: string | null;
}

/** Rows deleted per purge statement, so no statement holds its locks for long. */
const PURGE_BATCH = 500;

function toBinding(row: NonceRow): NonceBinding {
  return {
    purpose: row.purpose,
    clientIp: row.client_ip,
    serverId: row.server_id ?? null,
    expiresAt: row.expires_at,
    minerHotkey: row.miner_hotkey,
    vmName: row.vm_name,
    attestationId: row.attestation_id,
  };
}

@Injectable()
export class NoncesRepository {
  constructor(private readonly db: Database) {}

  async insert(nonceHash: string, binding: NonceBinding, createdAt: Date, executor: Executor = this.db): Promise<void> {
    await executor.rows(
      `INSERT INTO nonces (nonce_hash, purpose, client_ip, server_id, created_at, expires_at, miner_hotkey, vm_name, attestation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        nonceHash,
        binding.purpose,
        binding.clientIp,
        binding.serverId,
        createdAt,
        binding.expiresAt,
        binding.minerHotkey ?? null,
        binding.vmName ?? null,
        binding.attestationId ?? null,
      ],
    );
  }

  /**
   * Deletes the row and returns what it held, in one statement: of any number of concurrent
   * callers exactly one gets it. Null when there was no such row. `tx` joins a caller's transaction.
   */
  async take(nonceHash: string, tx: Executor = this.db): Promise<NonceBinding | null> {
    const rows = await tx.rows<NonceRow>(
      `DELETE FROM nonces WHERE nonce_hash = $1 RETURNING purpose, client_ip, server_id, expires_at, miner_hotkey, vm_name, attestation_id`,
      [nonceHash],
    );
    return rows.length === 0 ? null : toBinding(rows[0]);
  }

  /** Deletes rows that expired before `now`, a batch at a time; returns how many. */
  async purgeExpired(now: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.db.rows<{ nonce_hash: string }>(
        `DELETE FROM nonces WHERE nonce_hash IN (SELECT nonce_hash FROM nonces WHERE expires_at < $1 LIMIT ${PURGE_BATCH}) RETURNING nonce_hash`,
        [now],
      );
      total += rows.length;
      if (rows.length < PURGE_BATCH) return total;
    }
  }
}
