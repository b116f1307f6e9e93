/**
 * luks_vms (one row per VM, the lock a sync holds) and luks_volumes (each volume's passphrase,
 * sealed: kek_id, wrapped_key, ciphertext). Only sealed bytes pass through here.
 */
import { Injectable } from '@nestjs/common';
import { Database, Executor } from '../database/executor';
import type { SealedSecret } from '../keys/envelope';

export interface VmRef {
  minerHotkey: string;
  vmName: string;
}

export interface StoredVolumeKey extends VmRef {
  volume: string;
  sealed: SealedSecret;
}

interface VolumeRow {
  miner_hotkey: string;
  vm_name: string;
  volume: string;
  kek_id: string;
  wrapped_key: Buffer;
  ciphertext: Buffer;
}

function toStoredVolumeKey(row: VolumeRow): StoredVolumeKey {
  return {
    minerHotkey: row.miner_hotkey,
    vmName: row.vm_name,
    volume: row.volume,
    sealed: { kekId: row.kek_id, wrappedKey: new Uint8Array(row.wrapped_key), ciphertext: new Uint8Array(row.ciphertext) },
  };
}

const VOLUME_COLUMNS = 'miner_hotkey, vm_name, volume, kek_id, wrapped_key, ciphertext';

@Injectable()
export class VolumeKeysRepository {
  constructor(private readonly db: Database) {}

  /** Serialises syncs of one VM: the row exists once, and FOR UPDATE holds it until `tx` ends. */
  async lockVm(vm: VmRef, now: Date, tx: Executor): Promise<void> {
    await tx.rows(`INSERT INTO luks_vms (miner_hotkey, vm_name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [vm.minerHotkey, vm.vmName, now]);
    await tx.rows(`SELECT 1 FROM luks_vms WHERE miner_hotkey = $1 AND vm_name = $2 FOR UPDATE`, [vm.minerHotkey, vm.vmName]);
  }

  async volumesOf(vm: VmRef, executor: Executor = this.db): Promise<StoredVolumeKey[]> {
    const rows = await executor.rows<VolumeRow>(`SELECT ${VOLUME_COLUMNS} FROM luks_volumes WHERE miner_hotkey = $1 AND vm_name = $2`, [vm.minerHotkey, vm.vmName]);
    return rows.map(toStoredVolumeKey);
  }

  /** Stores a volume's sealed passphrase, replacing the one it had (rekey). The VM row must exist. */
  async upsert(vm: VmRef, volume: string, sealed: SealedSecret, now: Date, tx: Executor): Promise<void> {
    await tx.rows(
      `INSERT INTO luks_volumes (miner_hotkey, vm_name, volume, kek_id, wrapped_key, ciphertext, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (miner_hotkey, vm_name, volume) DO UPDATE
         SET kek_id = EXCLUDED.kek_id, wrapped_key = EXCLUDED.wrapped_key, ciphertext = EXCLUDED.ciphertext, updated_at = EXCLUDED.updated_at`,
      [vm.minerHotkey, vm.vmName, volume, sealed.kekId, Buffer.from(sealed.wrappedKey), Buffer.from(sealed.ciphertext), now],
    );
  }

  async deleteVolumes(vm: VmRef, volumes: string[], tx: Executor): Promise<void> {
    await tx.rows(`DELETE FROM luks_volumes WHERE miner_hotkey = $1 AND vm_name = $2 AND volume = ANY($3::text[])`, [vm.minerHotkey, vm.vmName, volumes]);
  }

  /** Deletes every volume key of a VM and the VM row; returns the volumes deleted, sorted. */
  async deleteVm(vm: VmRef, tx: Executor): Promise<string[]> {
    const rows = await tx.rows<{ volume: string }>(`DELETE FROM luks_volumes WHERE miner_hotkey = $1 AND vm_name = $2 RETURNING volume`, [vm.minerHotkey, vm.vmName]);
    await tx.rows(`DELETE FROM luks_vms WHERE miner_hotkey = $1 AND vm_name = $2`, [vm.minerHotkey, vm.vmName]);
    return rows.map((row) => row.volume).sort();
  }

  /** Volume keys still wrapped by a KEK other than `activeKekId` (KEK rotation). */
  async wrappedByOtherKek(activeKekId: string): Promise<StoredVolumeKey[]> {
    const rows = await this.db.rows<VolumeRow>(`SELECT ${VOLUME_COLUMNS} FROM luks_volumes WHERE kek_id <> $1`, [activeKekId]);
    return rows.map(toStoredVolumeKey);
  }

  /**
   * Replaces a key's wrapping (the ciphertext stays) — only if it is still wrapped as read, so a
   * concurrent rekey is never overwritten with the old passphrase's data key.
   */
  async saveRewrapped(key: StoredVolumeKey, rewrapped: SealedSecret): Promise<void> {
    await this.db.rows(`UPDATE luks_volumes SET kek_id = $4, wrapped_key = $5 WHERE miner_hotkey = $1 AND vm_name = $2 AND volume = $3 AND kek_id = $6`, [
      key.minerHotkey,
      key.vmName,
      key.volume,
      rewrapped.kekId,
      Buffer.from(rewrapped.wrappedKey),
      key.sealed.kekId,
    ]);
  }
}
