/**
 * confirm_nonces: the X-Confirm-Nonce of gen-C confirms, one per issue — `root` (issued by the
 * boot) and `storage` (issued by /provision) are separate. Only SHA-256 of a nonce is stored. Its
 * first use stores the request digest and the answer, so an identical repeat is answered again
 * (a lost answer must not make the VM roll back a key the broker promoted).
 */
import { Injectable } from '@nestjs/common';
import { Database, Executor } from '../database/executor';

export type ConfirmScope = 'root' | 'storage';

export interface ConfirmNonce {
  minerHotkey: string;
  vmName: string;
  scope: ConfirmScope;
  attestationId: string;
  expiresAt: Date;
  usedAt: Date | null;
  requestSha256: string | null;
  answer: unknown;
  replays: number;
}

interface ConfirmNonceRow {
  miner_hotkey: string;
  vm_name: string;
  scope: ConfirmScope;
  attestation_id: string;
  expires_at: Date;
  used_at: Date | null;
  request_sha256: string | null;
  answer: unknown;
  replays: number;
}

const PURGE_BATCH = 500;

@Injectable()
export class ConfirmNoncesRepository {
  constructor(private readonly db: Database) {}

  async insert(
    nonceHash: string,
    nonce: Pick<ConfirmNonce, 'minerHotkey' | 'vmName' | 'scope' | 'attestationId' | 'expiresAt'>,
    now: Date,
    tx: Executor,
  ): Promise<void> {
    await tx.rows(
      `INSERT INTO confirm_nonces (nonce_hash, miner_hotkey, vm_name, scope, attestation_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [nonceHash, nonce.minerHotkey, nonce.vmName, nonce.scope, nonce.attestationId, now, nonce.expiresAt],
    );
  }

  /** The nonce's row, locked until `tx` ends (concurrent confirms with one nonce run one after the other). */
  async lock(nonceHash: string, tx: Executor): Promise<ConfirmNonce | null> {
    const rows = await tx.rows<ConfirmNonceRow>(
      `SELECT miner_hotkey, vm_name, scope, attestation_id, expires_at, used_at, request_sha256, answer, replays
         FROM confirm_nonces WHERE nonce_hash = $1 FOR UPDATE`,
      [nonceHash],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      minerHotkey: row.miner_hotkey,
      vmName: row.vm_name,
      scope: row.scope,
      attestationId: row.attestation_id,
      expiresAt: row.expires_at,
      usedAt: row.used_at,
      requestSha256: row.request_sha256,
      answer: row.answer,
      replays: row.replays,
    };
  }

  /** First use: only an unused nonce is marked (false when another use got there first). */
  async markUsed(nonceHash: string, requestSha256: string, answer: unknown, now: Date, tx: Executor): Promise<boolean> {
    const rows = await tx.rows(
      `UPDATE confirm_nonces SET used_at = $2, request_sha256 = $3, answer = $4 WHERE nonce_hash = $1 AND used_at IS NULL RETURNING nonce_hash`,
      [nonceHash, now, requestSha256, JSON.stringify(answer)],
    );
    return rows.length === 1;
  }

  async countReplay(nonceHash: string, tx: Executor): Promise<void> {
    await tx.rows(`UPDATE confirm_nonces SET replays = replays + 1 WHERE nonce_hash = $1`, [nonceHash]);
  }

  /** Deletes nonces that expired before `now`, a batch at a time; returns how many. */
  async purgeExpired(now: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.db.rows<{ nonce_hash: string }>(
        `DELETE FROM confirm_nonces WHERE nonce_hash IN (SELECT nonce_hash FROM confirm_nonces WHERE expires_at < $1 LIMIT ${PURGE_BATCH}) RETURNING nonce_hash`,
        [now],
      );
      total += rows.length;
      if (rows.length < PURGE_BATCH) return total;
    }
  }
}
