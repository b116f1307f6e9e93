/**
 * luks_sync_receipts: what a sync answered, by volume and generation (never a key), bound to
 * the boot token that paid for it and to the request's digest. An identical retry with the same
 * token, while the token lives, claims a replay here in one conditional UPDATE; the receipt goes
 * when its token is purged (ON DELETE CASCADE).
 */
import { Injectable } from '@nestjs/common';
import { Executor } from '../database/executor';

/** The generations a sync returned: per volume, the current one and (with `previous`) the retained ones. */
export interface SyncAnswerRefs {
  previous: boolean;
  volumes: { volume: string; generation: number; previous: number[] }[];
}

export interface SyncReceipt {
  tokenHash: string;
  minerHotkey: string;
  vmName: string;
  requestSha256: string;
  answer: SyncAnswerRefs;
  createdAt: Date;
}

export interface ClaimedReplay {
  answer: SyncAnswerRefs;
  attestationId: string;
  /** Replays of this receipt so far, this one included. */
  replays: number;
}

@Injectable()
export class SyncReceiptsRepository {
  /** Stores the receipt of a sync in `tx`, the transaction that consumed its token. */
  async insert(receipt: SyncReceipt, tx: Executor): Promise<void> {
    await tx.rows(`INSERT INTO luks_sync_receipts (token_hash, miner_hotkey, vm_name, request_sha256, answer, created_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
      receipt.tokenHash,
      receipt.minerHotkey,
      receipt.vmName,
      receipt.requestSha256,
      JSON.stringify(receipt.answer),
      receipt.createdAt,
    ]);
  }

  /**
   * Counts one replay of the receipt of a spent token, if — in this one statement — the token is
   * bound to (hotkey, VM), unexpired at `now`, the request digest is the same, and fewer than
   * `maxReplays` were answered. Null otherwise.
   */
  async claimReplay(
    tokenHash: string,
    binding: { minerHotkey: string; vmName: string },
    requestSha256: string,
    now: Date,
    maxReplays: number,
    tx: Executor,
  ): Promise<ClaimedReplay | null> {
    const rows = await tx.rows<{ answer: SyncAnswerRefs; attestation_id: string; replays: number }>(
      `UPDATE luks_sync_receipts AS r SET replays = r.replays + 1
         FROM boot_tokens AS t
        WHERE r.token_hash = $1 AND t.token_hash = r.token_hash
          AND r.miner_hotkey = $2 AND r.vm_name = $3 AND t.miner_hotkey = $2 AND t.vm_name = $3
          AND r.request_sha256 = $4 AND t.expires_at > $5 AND r.replays < $6
        RETURNING r.answer, t.attestation_id, r.replays`,
      [tokenHash, binding.minerHotkey, binding.vmName, requestSha256, now, maxReplays],
    );
    const row = rows[0];
    return row ? { answer: row.answer, attestationId: row.attestation_id, replays: row.replays } : null;
  }
}
