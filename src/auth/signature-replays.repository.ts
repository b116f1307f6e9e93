/**
 * The SQL of the signature replay cache: `signature_replays` (one row per signature, the format
 * that verified and the method it is bound to) and `signature_uses` (each method + path a v1
 * signature was used on). Every decision is one atomic statement, so of any number of
 * concurrent requests carrying one signature exactly the permitted ones get through. Only
 * hashes of signatures and of request targets are keys; the caller computes them.
 */
import { Injectable } from '@nestjs/common';
import { Database, Executor } from '../database/executor';

/** `fresh`: recorded now; `replayed`: this use was already recorded; `scope`: bound to another method. */
export type SignatureUse = 'fresh' | 'replayed' | 'scope';

export interface SignatureRecord {
  /** SHA-256 hex of the 64 signature bytes. */
  signatureHash: string;
  /** Canonical ss58 of the signer. */
  hotkey: string;
  /** Upper-case HTTP method of this use. */
  method: string;
  seenAt: Date;
  /** When the signature's timestamp leaves the window; the rows may go after that. */
  expiresAt: Date;
}

export interface V1Use extends SignatureRecord {
  /** SHA-256 hex of `${method} ${path}`: the key of this use. */
  targetHash: string;
  /** The request path with its query, as the use key saw it (kept for the operator; never a key). */
  path: string;
}

/** Paths are stored for reading only; a very long URL is cut rather than stored whole. */
const STORED_PATH_MAX = 1024;
const PURGE_BATCH = 500;

@Injectable()
export class SignatureReplaysRepository {
  constructor(private readonly database: Database) {}

  /** Records a v2 signature; false when it had been recorded already (v2 signatures are single-use). */
  async recordV2(record: SignatureRecord, executor: Executor = this.database): Promise<boolean> {
    const rows = await executor.rows<{ signature_hash: string }>(
      `INSERT INTO signature_replays (signature_hash, hotkey, version, method, seen_at, expires_at) VALUES ($1, $2, 2, $3, $4, $5)
       ON CONFLICT (signature_hash) DO NOTHING RETURNING signature_hash`,
      [record.signatureHash, record.hotkey, record.method, record.seenAt, record.expiresAt],
    );
    return rows.length === 1;
  }

  /**
   * Records one use of a v1 signature. The first use binds the signature to its method: the
   * no-op DO UPDATE returns the bound method of an existing row under its row lock, so two
   * concurrent first uses with different methods cannot both bind. A use with the bound method
   * is then recorded once per target by the primary key of `signature_uses`.
   */
  async recordV1(use: V1Use, executor: Executor = this.database): Promise<SignatureUse> {
    const [bound] = await executor.rows<{ method: string | null; version: number | null }>(
      `INSERT INTO signature_replays (signature_hash, hotkey, version, method, seen_at, expires_at) VALUES ($1, $2, 1, $3, $4, $5)
       ON CONFLICT (signature_hash) DO UPDATE SET method = signature_replays.method
       RETURNING method, version`,
      [use.signatureHash, use.hotkey, use.method, use.seenAt, use.expiresAt],
    );
    // A row from before signatures had scope (method NULL) was one unscoped use: nothing more.
    if (!bound || bound.method === null || bound.version !== 1) return 'replayed';
    if (bound.method !== use.method) return 'scope';
    const recorded = await executor.rows<{ target_hash: string }>(
      `INSERT INTO signature_uses (signature_hash, target_hash, method, path, used_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (signature_hash, target_hash) DO NOTHING RETURNING target_hash`,
      [use.signatureHash, use.targetHash, use.method, use.path.slice(0, STORED_PATH_MAX), use.seenAt],
    );
    return recorded.length === 1 ? 'fresh' : 'replayed';
  }

  /** Deletes replay rows (and, by cascade, their uses) that expired before `now`, in small batches. */
  async purgeExpired(now: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.database.rows<{ signature_hash: string }>(
        `DELETE FROM signature_replays WHERE signature_hash IN
           (SELECT signature_hash FROM signature_replays WHERE expires_at < $1 LIMIT ${PURGE_BATCH})
         RETURNING signature_hash`,
        [now],
      );
      total += rows.length;
      if (rows.length < PURGE_BATCH) return total;
    }
  }
}
