/**
 * vm_boot_states: one row per VM (miner hotkey, vm_name) holding what its latest successful boot
 * left behind — the boot attestation, the matched set, the per-boot vm_auth key (sealed seed and
 * its ss58; gen C only) and, once the VM called /provision, the VM root CA it presented. A boot
 * replaces the row: a VM that last booted without vm_auth has none.
 */
import { Injectable } from '@nestjs/common';
import { Database, Executor } from '../database/executor';
import type { SealedSecret } from '../keys/envelope';

export interface VmRef {
  minerHotkey: string;
  vmName: string;
}

export interface VmBootState extends VmRef {
  attestationId: string;
  measurementSetId: string | null;
  measurementVersion: string | null;
  clientIp: string | null;
  bootedAt: Date;
  vmAuth: { ss58: string; sealedSeed: SealedSecret } | null;
  rootCaPem: string | null;
  provisionedAt: Date | null;
}

interface BootStateRow {
  miner_hotkey: string;
  vm_name: string;
  attestation_id: string;
  measurement_set_id: string | null;
  measurement_version: string | null;
  client_ip: string | null;
  booted_at: Date;
  vm_auth_ss58: string | null;
  vm_auth_kek_id: string | null;
  vm_auth_wrapped_key: Buffer | null;
  vm_auth_ciphertext: Buffer | null;
  root_ca_pem: string | null;
  provisioned_at: Date | null;
}

const COLUMNS = `miner_hotkey, vm_name, attestation_id, measurement_set_id, measurement_version, client_ip, booted_at,
  vm_auth_ss58, vm_auth_kek_id, vm_auth_wrapped_key, vm_auth_ciphertext, root_ca_pem, provisioned_at`;

function toState(row: BootStateRow): VmBootState {
  const vmAuth =
    row.vm_auth_ss58 !== null && row.vm_auth_kek_id !== null && row.vm_auth_wrapped_key !== null && row.vm_auth_ciphertext !== null
      ? {
          ss58: row.vm_auth_ss58,
          sealedSeed: { kekId: row.vm_auth_kek_id, wrappedKey: new Uint8Array(row.vm_auth_wrapped_key), ciphertext: new Uint8Array(row.vm_auth_ciphertext) },
        }
      : null;
  return {
    minerHotkey: row.miner_hotkey,
    vmName: row.vm_name,
    attestationId: row.attestation_id,
    measurementSetId: row.measurement_set_id,
    measurementVersion: row.measurement_version,
    clientIp: row.client_ip,
    bootedAt: row.booted_at,
    vmAuth,
    rootCaPem: row.root_ca_pem,
    provisionedAt: row.provisioned_at,
  };
}

export type NewBootState = Omit<VmBootState, 'rootCaPem' | 'provisionedAt'>;

@Injectable()
export class VmBootStatesRepository {
  constructor(private readonly db: Database) {}

  async find(vm: VmRef, executor: Executor = this.db): Promise<VmBootState | null> {
    const rows = await executor.rows<BootStateRow>(`SELECT ${COLUMNS} FROM vm_boot_states WHERE miner_hotkey = $1 AND vm_name = $2`, [
      vm.minerHotkey,
      vm.vmName,
    ]);
    return rows.length === 0 ? null : toState(rows[0]);
  }

  /** Records a boot: replaces whatever the previous boot left (its vm_auth key and root CA included). */
  async recordBoot(state: NewBootState, tx: Executor): Promise<void> {
    const sealed = state.vmAuth?.sealedSeed;
    await tx.rows(
      `INSERT INTO vm_boot_states (${COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL)
       ON CONFLICT (miner_hotkey, vm_name) DO UPDATE SET
         attestation_id = EXCLUDED.attestation_id, measurement_set_id = EXCLUDED.measurement_set_id,
         measurement_version = EXCLUDED.measurement_version, client_ip = EXCLUDED.client_ip, booted_at = EXCLUDED.booted_at,
         vm_auth_ss58 = EXCLUDED.vm_auth_ss58, vm_auth_kek_id = EXCLUDED.vm_auth_kek_id,
         vm_auth_wrapped_key = EXCLUDED.vm_auth_wrapped_key, vm_auth_ciphertext = EXCLUDED.vm_auth_ciphertext,
         root_ca_pem = NULL, provisioned_at = NULL`,
      [
        state.minerHotkey,
        state.vmName,
        state.attestationId,
        state.measurementSetId,
        state.measurementVersion,
        state.clientIp,
        state.bootedAt,
        state.vmAuth?.ss58 ?? null,
        sealed?.kekId ?? null,
        sealed ? Buffer.from(sealed.wrappedKey) : null,
        sealed ? Buffer.from(sealed.ciphertext) : null,
      ],
    );
  }

  /** Records the VM root CA presented at /provision of the boot `attestationId`; false when that boot is no longer the VM's latest. */
  async recordRootCa(vm: VmRef, attestationId: string, pem: string, now: Date, tx: Executor): Promise<boolean> {
    const rows = await tx.rows(
      `UPDATE vm_boot_states SET root_ca_pem = $4, provisioned_at = $5
        WHERE miner_hotkey = $1 AND vm_name = $2 AND attestation_id = $3 RETURNING vm_name`,
      [vm.minerHotkey, vm.vmName, attestationId, pem, now],
    );
    return rows.length === 1;
  }

  /** Rows whose vm_auth seed is wrapped by a KEK other than `activeKekId` (KEK rotation). */
  async vmAuthWrappedByOtherKek(activeKekId: string): Promise<VmBootState[]> {
    const rows = await this.db.rows<BootStateRow>(
      `SELECT ${COLUMNS} FROM vm_boot_states WHERE vm_auth_kek_id IS NOT NULL AND vm_auth_kek_id <> $1 ORDER BY miner_hotkey, vm_name`,
      [activeKekId],
    );
    return rows.map(toState);
  }

  /** Compare-and-swap of a vm_auth seed's wrapping on its exact stored bytes. */
  async saveRewrappedVmAuth(state: VmBootState, rewrapped: SealedSecret): Promise<boolean> {
    const sealed = state.vmAuth?.sealedSeed;
    if (!sealed) return false;
    const rows = await this.db.rows(
      `UPDATE vm_boot_states SET vm_auth_kek_id = $3, vm_auth_wrapped_key = $4
        WHERE miner_hotkey = $1 AND vm_name = $2 AND vm_auth_kek_id = $5 AND vm_auth_wrapped_key = $6 AND vm_auth_ciphertext = $7
        RETURNING vm_name`,
      [
        state.minerHotkey,
        state.vmName,
        rewrapped.kekId,
        Buffer.from(rewrapped.wrappedKey),
        sealed.kekId,
        Buffer.from(sealed.wrappedKey),
        Buffer.from(sealed.ciphertext),
      ],
    );
    return rows.length === 1;
  }

  async countVmAuthByKek(): Promise<Map<string, number>> {
    const rows = await this.db.rows<{ kek_id: string; n: number }>(
      `SELECT vm_auth_kek_id AS kek_id, count(*)::int AS n FROM vm_boot_states WHERE vm_auth_kek_id IS NOT NULL GROUP BY vm_auth_kek_id`,
    );
    return new Map(rows.map((row) => [row.kek_id, row.n]));
  }
}
