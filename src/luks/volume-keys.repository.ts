/**
 * luks_vms (one row per VM, the lock every change of its keys holds) and luks_volumes (one row
 * per generation of a volume's key: sealed bytes, state, and what caused it). Only sealed bytes
 * pass through here. Rows are never deleted: shredding clears the sealed columns and keeps the
 * row, so a generation number is never used twice.
 */
import { Injectable } from '@nestjs/common';
import { Database, Executor } from '../database/executor';
import type { SealedSecret } from '../keys/envelope';

export interface VmRef {
  minerHotkey: string;
  vmName: string;
}

/**
 * `pending`: issued as a gen-C `next` (root_next, a volume's next), awaiting the VM's confirm;
 * `discarded`: the VM confirmed it did not rotate; `abandoned`: never confirmed, replaced by a
 * later boot's pending generation. Both keep their bytes until the retention purge, like `superseded`.
 */
export type GenerationState = 'current' | 'pending' | 'superseded' | 'retired' | 'discarded' | 'abandoned' | 'shredded';

/**
 * States whose bytes the retention purge shreds once they are older than KEY_RETENTION_DAYS, as
 * SQL text: a literal list, so the partial index idx_luks_volumes_noncurrent (same list) serves the purge.
 */
const NONCURRENT_STATES_SQL = `('superseded', 'retired', 'discarded', 'abandoned')`;

/** One generation of a volume key as stored; `sealed` is null once shredded. */
export interface VolumeKeyGeneration extends VmRef {
  volume: string;
  generation: number;
  state: GenerationState;
  sealed: SealedSecret | null;
  createdAt: Date;
  /** The boot attestation whose sync created it (null for keys older than generations). */
  attestationId: string | null;
  clientIp: string | null;
  /** When it stopped being current (the retention clock); null while current or pending. */
  noncurrentSince: Date | null;
  /** Gen C: the generation the VM was handed as its key when this one was issued as `next` (0: the set's root passphrase). */
  parentGeneration: number | null;
  /** Gen C: when a confirm for this issue arrived — proof that the parent key opened the disk. */
  confirmedAt: Date | null;
}

/** A generation that holds sealed bytes (not shredded). */
export type StoredVolumeKey = VolumeKeyGeneration & { sealed: SealedSecret };

export interface GenerationRef {
  volume: string;
  generation: number;
}

interface VolumeRow {
  miner_hotkey: string;
  vm_name: string;
  volume: string;
  generation: number;
  state: GenerationState;
  kek_id: string | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
  created_at: Date;
  attestation_id: string | null;
  client_ip: string | null;
  noncurrent_since: Date | null;
  parent_generation: number | null;
  confirmed_at: Date | null;
}

function toGeneration(row: VolumeRow): VolumeKeyGeneration {
  const sealed =
    row.kek_id !== null && row.wrapped_key !== null && row.ciphertext !== null
      ? { kekId: row.kek_id, wrappedKey: new Uint8Array(row.wrapped_key), ciphertext: new Uint8Array(row.ciphertext) }
      : null;
  return {
    minerHotkey: row.miner_hotkey,
    vmName: row.vm_name,
    volume: row.volume,
    generation: row.generation,
    state: row.state,
    sealed,
    createdAt: row.created_at,
    attestationId: row.attestation_id,
    clientIp: row.client_ip,
    noncurrentSince: row.noncurrent_since,
    parentGeneration: row.parent_generation,
    confirmedAt: row.confirmed_at,
  };
}

export function isStored(key: VolumeKeyGeneration): key is StoredVolumeKey {
  return key.sealed !== null;
}

const COLUMNS =
  'miner_hotkey, vm_name, volume, generation, state, kek_id, wrapped_key, ciphertext, created_at, attestation_id, client_ip, noncurrent_since, parent_generation, confirmed_at';

@Injectable()
export class VolumeKeysRepository {
  constructor(private readonly db: Database) {}

  /**
   * Serialises changes to one VM's keys: the row exists once, and the lock holds until `tx` ends.
   * One round trip: ON CONFLICT DO UPDATE locks an existing row as FOR UPDATE would (waiting for
   * a concurrent inserter's commit, then locking its row), and a new row is ours until commit;
   * the no-op SET changes nothing.
   */
  async lockVm(vm: VmRef, now: Date, tx: Executor): Promise<void> {
    await tx.rows(
      `INSERT INTO luks_vms (miner_hotkey, vm_name, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (miner_hotkey, vm_name) DO UPDATE SET created_at = luks_vms.created_at`,
      [vm.minerHotkey, vm.vmName, now],
    );
  }

  /** Locks the VM's row like `lockVm` without creating it; false when the VM never had keys. */
  async lockExistingVm(vm: VmRef, tx: Executor): Promise<boolean> {
    const rows = await tx.rows(`SELECT 1 FROM luks_vms WHERE miner_hotkey = $1 AND vm_name = $2 FOR UPDATE`, [vm.minerHotkey, vm.vmName]);
    return rows.length === 1;
  }

  async vmExists(vm: VmRef): Promise<boolean> {
    const rows = await this.db.rows(`SELECT 1 FROM luks_vms WHERE miner_hotkey = $1 AND vm_name = $2`, [vm.minerHotkey, vm.vmName]);
    return rows.length === 1;
  }

  /** Every generation of every volume of a VM, shredded ones included; by volume, newest first. */
  async generationsOf(vm: VmRef, executor: Executor = this.db): Promise<VolumeKeyGeneration[]> {
    const rows = await executor.rows<VolumeRow>(
      `SELECT ${COLUMNS} FROM luks_volumes WHERE miner_hotkey = $1 AND vm_name = $2 ORDER BY volume, generation DESC`,
      [vm.minerHotkey, vm.vmName],
    );
    return rows.map(toGeneration);
  }

  /**
   * Stores a new generation, `current` (or `pending`, a gen-C `next` with the generation handed
   * out beside it as `parentGeneration`). The VM row must be locked; a previous current (or
   * pending) demoted first.
   */
  async insertGeneration(
    vm: VmRef,
    key: GenerationRef & {
      sealed: SealedSecret;
      attestationId: string | null;
      clientIp: string | null;
      state?: 'current' | 'pending';
      parentGeneration?: number | null;
    },
    now: Date,
    tx: Executor,
  ): Promise<void> {
    await tx.rows(
      `INSERT INTO luks_volumes (miner_hotkey, vm_name, volume, generation, state, kek_id, wrapped_key, ciphertext, attestation_id, client_ip, created_at, updated_at, parent_generation)
       VALUES ($1, $2, $3, $4, $11, $5, $6, $7, $8, $9, $10, $10, $12)`,
      [
        vm.minerHotkey,
        vm.vmName,
        key.volume,
        key.generation,
        key.sealed.kekId,
        Buffer.from(key.sealed.wrappedKey),
        Buffer.from(key.sealed.ciphertext),
        key.attestationId,
        key.clientIp,
        now,
        key.state ?? 'current',
        key.parentGeneration ?? null,
      ],
    );
  }

  /** Records that a confirm for this (pending) generation's issue arrived. */
  async markConfirmed(vm: VmRef, ref: GenerationRef, now: Date, tx: Executor): Promise<void> {
    await tx.rows(`UPDATE luks_volumes SET confirmed_at = $5, updated_at = $5 WHERE miner_hotkey = $1 AND vm_name = $2 AND volume = $3 AND generation = $4`, [
      vm.minerHotkey,
      vm.vmName,
      ref.volume,
      ref.generation,
      now,
    ]);
  }

  /**
   * Moves a generation from one of `from` to `to` (never to or from `shredded`); false when it
   * is not in one of `from` any more. Leaving `current` starts the retention clock; a retired
   * generation that becomes superseded keeps the time it was retired.
   */
  async changeState(
    vm: VmRef,
    ref: GenerationRef,
    from: Exclude<GenerationState, 'shredded'>[],
    to: Exclude<GenerationState, 'shredded'>,
    now: Date,
    tx: Executor,
  ): Promise<boolean> {
    const rows = await tx.rows(
      `UPDATE luks_volumes
          SET state = $5::text,
              noncurrent_since = CASE WHEN $5::text IN ('current', 'pending') THEN NULL ELSE COALESCE(noncurrent_since, $6) END,
              updated_at = $6
        WHERE miner_hotkey = $1 AND vm_name = $2 AND volume = $3 AND generation = $4 AND state = ANY($7::text[])
        RETURNING generation`,
      [vm.minerHotkey, vm.vmName, ref.volume, ref.generation, to, now, from],
    );
    return rows.length === 1;
  }

  /** Shreds every generation of a VM still holding sealed bytes; returns what was shredded. */
  async shredVm(vm: VmRef, now: Date, tx: Executor): Promise<GenerationRef[]> {
    return this.shredWhere(vm, `state <> 'shredded'`, [], now, tx);
  }

  /** Shreds a VM's superseded, retired, discarded and abandoned generations that stopped being current before `cutoff`. */
  async shredNoncurrentBefore(vm: VmRef, cutoff: Date, now: Date, tx: Executor): Promise<GenerationRef[]> {
    return this.shredWhere(vm, `state IN ${NONCURRENT_STATES_SQL} AND noncurrent_since < $4`, [cutoff], now, tx);
  }

  /** VMs that have generations the retention purge would shred at `cutoff` (at most `limit`). */
  async vmsWithNoncurrentBefore(cutoff: Date, limit: number): Promise<VmRef[]> {
    const rows = await this.db.rows<{ miner_hotkey: string; vm_name: string }>(
      `SELECT DISTINCT miner_hotkey, vm_name FROM (
         SELECT miner_hotkey, vm_name FROM luks_volumes
          WHERE state IN ${NONCURRENT_STATES_SQL} AND noncurrent_since < $1
          ORDER BY noncurrent_since LIMIT $2) AS due`,
      [cutoff, limit],
    );
    return rows.map((row) => ({ minerHotkey: row.miner_hotkey, vmName: row.vm_name }));
  }

  /** Generations not shredded and wrapped by a KEK other than `activeKekId` (KEK rotation). */
  async wrappedByOtherKek(activeKekId: string): Promise<StoredVolumeKey[]> {
    const rows = await this.db.rows<VolumeRow>(
      `SELECT ${COLUMNS} FROM luks_volumes WHERE kek_id <> $1 AND state <> 'shredded' ORDER BY miner_hotkey, vm_name, volume, generation`,
      [activeKekId],
    );
    return rows.map(toGeneration).filter(isStored);
  }

  /**
   * Replaces a generation's wrapping (its ciphertext stays) by compare-and-swap on the exact
   * stored bytes: only if the row still holds the KEK id, wrapped key and ciphertext that were
   * re-wrapped. False when anything changed in between (the caller counts it as not re-wrapped).
   */
  async saveRewrapped(key: StoredVolumeKey, rewrapped: SealedSecret): Promise<boolean> {
    const rows = await this.db.rows(
      `UPDATE luks_volumes SET kek_id = $5, wrapped_key = $6
        WHERE miner_hotkey = $1 AND vm_name = $2 AND volume = $3 AND generation = $4
          AND kek_id = $7 AND wrapped_key = $8 AND ciphertext = $9
        RETURNING generation`,
      [
        key.minerHotkey,
        key.vmName,
        key.volume,
        key.generation,
        rewrapped.kekId,
        Buffer.from(rewrapped.wrappedKey),
        key.sealed.kekId,
        Buffer.from(key.sealed.wrappedKey),
        Buffer.from(key.sealed.ciphertext),
      ],
    );
    return rows.length === 1;
  }

  /** How many stored (not shredded) generations each KEK id wraps. */
  async countByKek(): Promise<Map<string, number>> {
    const rows = await this.db.rows<{ kek_id: string; n: number }>(
      `SELECT kek_id, count(*)::int AS n FROM luks_volumes WHERE kek_id IS NOT NULL GROUP BY kek_id`,
    );
    return new Map(rows.map((row) => [row.kek_id, row.n]));
  }

  private async shredWhere(vm: VmRef, condition: string, extra: unknown[], now: Date, tx: Executor): Promise<GenerationRef[]> {
    const rows = await tx.rows<{ volume: string; generation: number }>(
      `UPDATE luks_volumes
          SET state = 'shredded', kek_id = NULL, wrapped_key = NULL, ciphertext = NULL, shredded_at = $3, updated_at = $3
        WHERE miner_hotkey = $1 AND vm_name = $2 AND ${condition}
        RETURNING volume, generation`,
      [vm.minerHotkey, vm.vmName, now, ...extra],
    );
    return rows
      .map((row) => ({ volume: row.volume, generation: row.generation }))
      .sort((a, b) => a.volume.localeCompare(b.volume) || a.generation - b.generation);
  }
}
