/**
 * Per-VM volume passphrases. A sync is one transaction under a row lock on the VM: the boot
 * token is consumed, existing keys opened, new and rekeyed ones created and sealed, unlisted
 * ones deleted, the event audited — and only after COMMIT does the response leave, so no
 * passphrase is ever returned that is not stored.
 */
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { queryRows } from '../database/sql';
import { KeyCustodyService, SealedSecretRow, sealedFromRow } from '../keys/key-custody.service';
import { randomPassphraseHex } from '../common/crypto/random';
import { BootTokenBinding, BootTokensService } from '../boot/boot-tokens.service';
import { KeyReleaseAuditService } from '../boot/key-release-audit.service';

export const volumeAad = (hotkey: string, vmName: string, volume: string) => `volume|${hotkey}|${vmName}|${volume}`;

interface VolumeRow extends SealedSecretRow {
  volume: string;
}

export interface SyncRequest extends BootTokenBinding {
  token: unknown;
  volumes: string[];
  rekey: string[];
  clientIp: string;
}

@Injectable()
export class LuksService implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly custody: KeyCustodyService,
    private readonly tokens: BootTokensService,
    private readonly keyReleases: KeyReleaseAuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.custody.registerRewrapTask('luks_volumes', () => this.rewrapVolumes());
  }

  /** Checks names against LUKS_VOLUMES and rekey ⊆ volumes (422 before anything is touched). */
  validateVolumes(volumes: string[], rekey: string[]): void {
    const allowed = new Set(this.config.luksVolumes);
    const unknown = volumes.filter((volume) => !allowed.has(volume));
    if (unknown.length > 0) throw new DomainError(ErrorCode.VALIDATION_FAILED, `volumes must be among ${this.config.luksVolumes.join(', ')}; unknown: ${unknown.join(', ')}`);
    if (new Set(volumes).size !== volumes.length) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'volumes must not repeat');
    const listed = new Set(volumes);
    const stray = rekey.filter((volume) => !listed.has(volume));
    if (stray.length > 0) throw new DomainError(ErrorCode.VALIDATION_FAILED, `rekey must be a subset of volumes; not in volumes: ${stray.join(', ')}`);
  }

  async sync(request: SyncRequest): Promise<Record<string, string>> {
    this.validateVolumes(request.volumes, request.rekey);
    const { minerHotkey, vmName } = request;
    return this.dataSource.transaction(async (manager) => {
      const now = this.clock.now();
      await this.lockVm(manager, minerHotkey, vmName, now);
      const { attestationId } = await this.tokens.consume(request.token, request, manager);
      const stored = new Map((await this.readVolumes(manager, minerHotkey, vmName)).map((row) => [row.volume, row]));
      const rekey = new Set(request.rekey);
      const result: Record<string, string> = {};
      const created: string[] = [];
      const rekeyed: string[] = [];
      for (const volume of request.volumes) {
        const existing = stored.get(volume);
        if (existing && !rekey.has(volume)) {
          result[volume] = Buffer.from(this.custody.open(sealedFromRow(existing), volumeAad(minerHotkey, vmName, volume))).toString('utf8');
          continue;
        }
        const passphrase = randomPassphraseHex(64);
        await this.storeVolume(manager, minerHotkey, vmName, volume, passphrase, now);
        (existing ? rekeyed : created).push(volume);
        result[volume] = passphrase;
      }
      const pruned = [...stored.keys()].filter((volume) => !request.volumes.includes(volume));
      if (pruned.length > 0) {
        await manager.query(`DELETE FROM luks_volumes WHERE miner_hotkey = $1 AND vm_name = $2 AND volume = ANY($3::text[])`, [minerHotkey, vmName, pruned]);
      }
      await this.keyReleases.record(
        { kind: 'sync', createdAt: now, minerHotkey, vmName, attestationId, clientIp: request.clientIp, returned: Object.keys(result), created, rekeyed, pruned },
        manager,
      );
      return result;
    });
  }

  /** The legacy GET: the `storage` passphrase for a valid (not consumed) token bound to this VM. */
  async legacyStoragePassphrase(token: unknown, binding: BootTokenBinding, clientIp: string): Promise<string> {
    return this.dataSource.transaction(async (manager) => {
      const { attestationId } = await this.tokens.validate(token, binding, manager);
      const rows = (await this.readVolumes(manager, binding.minerHotkey, binding.vmName)).filter((row) => row.volume === 'storage');
      if (rows.length === 0) throw new DomainError(ErrorCode.NOT_FOUND, 'this VM has no storage volume key');
      const passphrase = Buffer.from(this.custody.open(sealedFromRow(rows[0]), volumeAad(binding.minerHotkey, binding.vmName, 'storage'))).toString('utf8');
      await this.keyReleases.record({ kind: 'legacy_get', createdAt: this.clock.now(), ...binding, attestationId, clientIp, returned: ['storage'] }, manager);
      return passphrase;
    });
  }

  /** Crypto-shreds every volume key of a VM (server deletion); returns the volumes destroyed. */
  async destroyVolumes(manager: EntityManager, minerHotkey: string, vmName: string, clientIp: string | null): Promise<string[]> {
    const rows = await queryRows<{ volume: string }>(manager, `DELETE FROM luks_volumes WHERE miner_hotkey = $1 AND vm_name = $2 RETURNING volume`, [minerHotkey, vmName]);
    await manager.query(`DELETE FROM luks_vms WHERE miner_hotkey = $1 AND vm_name = $2`, [minerHotkey, vmName]);
    const volumes = rows.map((row) => row.volume).sort();
    await this.keyReleases.record({ kind: 'destroy', createdAt: this.clock.now(), minerHotkey, vmName, attestationId: null, clientIp, pruned: volumes }, manager);
    return volumes;
  }

  /** Serialises syncs of one VM: the row exists once, and FOR UPDATE holds it until COMMIT. */
  private async lockVm(manager: EntityManager, minerHotkey: string, vmName: string, now: Date): Promise<void> {
    await manager.query(`INSERT INTO luks_vms (miner_hotkey, vm_name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [minerHotkey, vmName, now]);
    await manager.query(`SELECT 1 FROM luks_vms WHERE miner_hotkey = $1 AND vm_name = $2 FOR UPDATE`, [minerHotkey, vmName]);
  }

  private async readVolumes(manager: EntityManager, minerHotkey: string, vmName: string): Promise<VolumeRow[]> {
    return queryRows<VolumeRow>(manager, `SELECT volume, kek_id, wrapped_key, ciphertext FROM luks_volumes WHERE miner_hotkey = $1 AND vm_name = $2`, [minerHotkey, vmName]);
  }

  private async storeVolume(manager: EntityManager, minerHotkey: string, vmName: string, volume: string, passphrase: string, now: Date): Promise<void> {
    const sealed = this.custody.seal(Buffer.from(passphrase, 'utf8'), volumeAad(minerHotkey, vmName, volume));
    await manager.query(
      `INSERT INTO luks_volumes (miner_hotkey, vm_name, volume, kek_id, wrapped_key, ciphertext, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (miner_hotkey, vm_name, volume) DO UPDATE
         SET kek_id = EXCLUDED.kek_id, wrapped_key = EXCLUDED.wrapped_key, ciphertext = EXCLUDED.ciphertext, updated_at = EXCLUDED.updated_at`,
      [minerHotkey, vmName, volume, sealed.kekId, Buffer.from(sealed.wrappedKey), Buffer.from(sealed.ciphertext), now],
    );
  }

  private async rewrapVolumes(): Promise<number> {
    const rows = await queryRows<VolumeRow & { miner_hotkey: string; vm_name: string }>(
      this.dataSource,
      `SELECT miner_hotkey, vm_name, volume, kek_id, wrapped_key, ciphertext FROM luks_volumes WHERE kek_id <> $1`,
      [this.custody.activeKekId],
    );
    return this.custody.rewrapAll(
      rows,
      (row) => ({ sealed: sealedFromRow(row), aad: volumeAad(row.miner_hotkey, row.vm_name, row.volume) }),
      (row, rewrapped) =>
        this.dataSource.query(
          `UPDATE luks_volumes SET kek_id = $4, wrapped_key = $5 WHERE miner_hotkey = $1 AND vm_name = $2 AND volume = $3 AND kek_id = $6`,
          [row.miner_hotkey, row.vm_name, row.volume, rewrapped.kekId, Buffer.from(rewrapped.wrappedKey), row.kek_id],
        ),
    );
  }
}
