/**
 * The one injectable through which services seal, open and re-wrap secrets at rest. It holds
 * the KEK ring (loaded and checked against `kek_checks` before any other provider can use it)
 * and runs KEK rotation across every table that registered a re-wrap task.
 *
 * Pattern for a table of sealed secrets (columns kek_id text, wrapped_key bytea, ciphertext bytea):
 * the feature's repository maps those columns to a SealedSecret (`sealedFromRow`) and back;
 * the feature's service seals, opens and re-wraps through this class.
 *
 *   seal:   const s = custody.seal(passphraseBytes, `volume|${hotkey}|${vm}|${volume}`);
 *           await volumes.insert(…, s)        (repository: INSERT … VALUES (s.kekId, s.wrappedKey, s.ciphertext))
 *   open:   custody.open(volume.sealed, `volume|${volume.hotkey}|${volume.vmName}|${volume.name}`)
 *   rotate: in the feature service's constructor or onModuleInit —
 *           custody.registerRewrapTask('volume_keys', () => this.db.transaction(async (tx) => {
 *             const stale = await volumes.notUnderKek(custody.activeKekId, tx);   (… FOR UPDATE)
 *             return custody.rewrapAll(stale, (v) => ({ sealed: v.sealed, aad: aadOf(v) }),
 *               (v, s) => volumes.replaceWrap(v.id, s, tx));
 *           }));
 *           and `POST /admin/keys/rotate` answers `{kek_id, rewrapped}` from `custody.rotate()`.
 */
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { openSecret, rewrapSecret, sealSecret, SealedSecret } from './envelope';
import { verifyKekChecks } from './kek-check';
import { KekChecksRepository } from './kek-checks.repository';
import { LoadedKekRing, loadKekRing } from './kek-ring';

/** Re-wraps one table's secrets still under an older KEK; resolves to how many it re-wrapped. */
export type RewrapTask = () => Promise<number>;

export interface KeyRotationResult {
  kekId: string;
  rewrapped: number;
}

/** The usual three columns of a sealed secret, as a repository reads them. */
export interface SealedSecretRow {
  kek_id: string;
  wrapped_key: Uint8Array;
  ciphertext: Uint8Array;
}

/** The usual three columns of a row → SealedSecret. */
export function sealedFromRow(row: SealedSecretRow): SealedSecret {
  return { kekId: row.kek_id, wrappedKey: new Uint8Array(row.wrapped_key), ciphertext: new Uint8Array(row.ciphertext) };
}

@Injectable()
export class KeyCustodyService implements OnModuleDestroy {
  private readonly logger = new Logger(KeyCustodyService.name);
  private loaded?: LoadedKekRing;
  private readonly rewrapTasks = new Map<string, RewrapTask>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kekChecks: KekChecksRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Loads the ring and verifies it against the database; KeysModule's factory awaits this, so
   * a failure (ConfigError) stops start-up before any other provider sees the service.
   */
  async load(): Promise<void> {
    const loaded = loadKekRing(this.config);
    if (loaded.source === 'generated') {
      this.logger.warn(
        `no BROKER_KEKS or BROKER_KEK_FILE configured: secrets are encrypted with a KEK ${loaded.created ? 'generated now' : 'generated earlier'} ` +
          `into ${loaded.generatedFile} (mode 0600), beside the data it protects; set BROKER_KEKS or BROKER_KEK_FILE for production`,
      );
    }
    const outcome = await verifyKekChecks(this.kekChecks, loaded, this.clock.now());
    this.loaded = loaded;
    this.logger.log({
      msg: 'KEK ring loaded',
      source: loaded.source,
      activeKekId: loaded.ring.active.id,
      kekIds: [...loaded.ring.keks.keys()],
      newKekIds: outcome.inserted,
      // Secrets still wrapped by these cannot be opened until they are configured again.
      unconfiguredKekIds: outcome.unconfigured,
    });
  }

  private get ring() {
    if (!this.loaded) throw new Error('KeyCustodyService used before its KEK ring was loaded');
    return this.loaded.ring;
  }

  /** The id new secrets are wrapped with (and rotation re-wraps to). */
  get activeKekId(): string {
    return this.ring.active.id;
  }

  seal(plaintext: Uint8Array, aad: string): SealedSecret {
    return sealSecret(plaintext, aad, this.ring.active);
  }

  /** Throws DomainError KEY_UNAVAILABLE when the secret cannot be opened (see envelope.ts). */
  open(sealed: SealedSecret, aad: string): Uint8Array {
    return openSecret(sealed, aad, this.ring);
  }

  /** The secret re-wrapped under the active KEK, or null when it already is. */
  rewrap(sealed: SealedSecret, aad: string): SealedSecret | null {
    if (sealed.kekId === this.ring.active.id) return null;
    return rewrapSecret(sealed, aad, this.ring, this.ring.active);
  }

  /**
   * Re-wraps every item not yet under the active KEK and hands each result to `save` (in
   * order, one at a time, so it can share the caller's transaction). Returns how many were saved.
   */
  async rewrapAll<T>(
    items: Iterable<T> | AsyncIterable<T>,
    locate: (item: T) => { sealed: SealedSecret; aad: string },
    save: (item: T, rewrapped: SealedSecret) => Promise<unknown>,
  ): Promise<number> {
    let count = 0;
    for await (const item of items) {
      const { sealed, aad } = locate(item);
      const rewrapped = this.rewrap(sealed, aad);
      if (!rewrapped) continue;
      await save(item, rewrapped);
      count++;
    }
    return count;
  }

  /** Registers a table's re-wrap task for `rotate()`; one name, one task. */
  registerRewrapTask(name: string, task: RewrapTask): void {
    if (this.rewrapTasks.has(name)) throw new Error(`re-wrap task ${name} is already registered`);
    this.rewrapTasks.set(name, task);
  }

  /**
   * Re-wraps every registered table's secrets under the active KEK. Each task commits on its
   * own; a failed rotation can simply be run again, since tasks skip rows already re-wrapped.
   */
  async rotate(): Promise<KeyRotationResult> {
    let rewrapped = 0;
    for (const [name, task] of this.rewrapTasks) {
      const count = await task();
      this.logger.log({ msg: 'secrets re-wrapped', table: name, count, kekId: this.activeKekId });
      rewrapped += count;
    }
    return { kekId: this.activeKekId, rewrapped };
  }

  /** Drops the KEKs from memory; JS cannot promise more than zeroing our own copies. */
  onModuleDestroy(): void {
    for (const kek of this.loaded?.ring.keks.values() ?? []) kek.key.fill(0);
    this.loaded = undefined;
  }
}
