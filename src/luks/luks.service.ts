/**
 * Per-VM volume passphrases. A sync is one transaction under a row lock on the VM: the boot
 * token is consumed, existing keys opened, new and rekeyed ones created and sealed, unlisted
 * ones deleted, the event audited — and only after COMMIT does the response leave, so no
 * passphrase is ever returned that is not stored.
 */
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { Database, Executor } from '../database/executor';
import { KeyCustodyService } from '../keys/key-custody.service';
import { randomPassphraseHex } from '../common/crypto/random';
import { KeyReleaseEventsRepository } from '../audit/key-release-events.repository';
import { BootTokenBinding, BootTokensService } from '../boot/boot-tokens.service';
import { StoredVolumeKey, VolumeKeysRepository } from './volume-keys.repository';

export const volumeAad = (hotkey: string, vmName: string, volume: string) => `volume|${hotkey}|${vmName}|${volume}`;

export interface SyncRequest extends BootTokenBinding {
  token: unknown;
  volumes: string[];
  rekey: string[];
  clientIp: string;
}

@Injectable()
export class LuksService implements OnModuleInit {
  constructor(
    private readonly db: Database,
    private readonly volumeKeys: VolumeKeysRepository,
    private readonly custody: KeyCustodyService,
    private readonly tokens: BootTokensService,
    private readonly keyReleases: KeyReleaseEventsRepository,
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
    const vm = { minerHotkey, vmName };
    return this.db.transaction(async (tx) => {
      const now = this.clock.now();
      await this.volumeKeys.lockVm(vm, now, tx);
      const { attestationId } = await this.tokens.consume(request.token, vm, tx);
      const stored = new Map((await this.volumeKeys.volumesOf(vm, tx)).map((key) => [key.volume, key]));
      const rekey = new Set(request.rekey);
      const result: Record<string, string> = {};
      const created: string[] = [];
      const rekeyed: string[] = [];
      for (const volume of request.volumes) {
        const existing = stored.get(volume);
        if (existing && !rekey.has(volume)) {
          result[volume] = this.openVolume(existing);
          continue;
        }
        const passphrase = randomPassphraseHex(64);
        await this.volumeKeys.upsert(vm, volume, this.custody.seal(Buffer.from(passphrase, 'utf8'), volumeAad(minerHotkey, vmName, volume)), now, tx);
        (existing ? rekeyed : created).push(volume);
        result[volume] = passphrase;
      }
      const pruned = [...stored.keys()].filter((volume) => !request.volumes.includes(volume));
      if (pruned.length > 0) await this.volumeKeys.deleteVolumes(vm, pruned, tx);
      await this.keyReleases.insert(
        { kind: 'sync', createdAt: now, minerHotkey, vmName, attestationId, clientIp: request.clientIp, returned: Object.keys(result), created, rekeyed, pruned },
        tx,
      );
      return result;
    });
  }

  /** The legacy GET: the `storage` passphrase for a valid (not consumed) token bound to this VM. */
  async legacyStoragePassphrase(token: unknown, binding: BootTokenBinding, clientIp: string): Promise<string> {
    return this.db.transaction(async (tx) => {
      const { attestationId } = await this.tokens.validate(token, binding, tx);
      const storage = (await this.volumeKeys.volumesOf(binding, tx)).find((key) => key.volume === 'storage');
      if (!storage) throw new DomainError(ErrorCode.NOT_FOUND, 'this VM has no storage volume key');
      const passphrase = this.openVolume(storage);
      await this.keyReleases.insert({ kind: 'legacy_get', createdAt: this.clock.now(), ...binding, attestationId, clientIp, returned: ['storage'] }, tx);
      return passphrase;
    });
  }

  /** Crypto-shreds every volume key of a VM in `tx` (server deletion); returns the volumes destroyed. */
  async destroyVolumes(tx: Executor, minerHotkey: string, vmName: string, clientIp: string | null): Promise<string[]> {
    const volumes = await this.volumeKeys.deleteVm({ minerHotkey, vmName }, tx);
    await this.keyReleases.insert({ kind: 'destroy', createdAt: this.clock.now(), minerHotkey, vmName, attestationId: null, clientIp, pruned: volumes }, tx);
    return volumes;
  }

  private openVolume(key: StoredVolumeKey): string {
    return Buffer.from(this.custody.open(key.sealed, volumeAad(key.minerHotkey, key.vmName, key.volume))).toString('utf8');
  }

  private async rewrapVolumes(): Promise<number> {
    const keys = await this.volumeKeys.wrappedByOtherKek(this.custody.activeKekId);
    return this.custody.rewrapAll(
      keys,
      (key) => ({ sealed: key.sealed, aad: volumeAad(key.minerHotkey, key.vmName, key.volume) }),
      (key, rewrapped) => this.volumeKeys.saveRewrapped(key, rewrapped),
    );
  }
}
