/**
 * The one injectable through which services seal, open and re-wrap secrets at rest. It holds
 * the KEK ring (loaded and checked against `kek_checks` before any other provider can use it),
 * runs KEK rotation across every table that registered itself, counts stored secrets per KEK,
 * and refuses to let the service start while stored secrets use a KEK the ring lacks.
 *
 * Pattern for a table of sealed secrets (columns kek_id text, wrapped_key bytea, ciphertext bytea):
 * the feature's repository maps those columns to a SealedSecret (`sealedFromRow`) and back;
 * the feature's service seals, opens and re-wraps through this class.
 *
 *   seal:   const s = custody.seal(passphraseBytes, `volume|${hotkey}|${vm}|${volume}`);
 *           await volumes.insert(…, s)        (repository: INSERT … VALUES (s.kekId, s.wrappedKey, s.ciphertext))
 *   open:   custody.open(volume.sealed, `volume|${volume.hotkey}|${volume.vmName}|${volume.name}`)
 *   rotate: in the feature service's onModuleInit —
 *           custody.registerSealedTable('volume_keys', {
 *             rewrap: async () => custody.rewrapAll(await volumes.notUnderKek(custody.activeKekId),
 *               (v) => ({ sealed: v.sealed, aad: aadOf(v) }),
 *               (v, s) => volumes.replaceWrap(v, s)),          (compare-and-swap on v's stored bytes → boolean)
 *             countByKek: () => volumes.countByKek(),
 *           });
 *           and `POST /admin/keys/rotate` answers `{kek_id, rewrapped, skipped, remaining}` from `custody.rotate()`.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig, ConfigError } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { openSecret, rewrapSecret, sealSecret, SealedSecret } from './envelope';
import { verifyKekChecks } from './kek-check';
import { KekChecksRepository } from './kek-checks.repository';
import { LoadedKekRing, loadKekRing } from './kek-ring';

/** What one re-wrap pass of a table did. */
export interface RewrapOutcome {
  /** Secrets now wrapped by the active KEK because of this pass. */
  rewrapped: number;
  /** Secrets that could not be opened (unknown KEK, damaged or moved bytes): left as they are. */
  skipped: number;
}

/** A table of sealed secrets, as key custody sees it. */
export interface SealedTable {
  /**
   * Re-wraps the table's secrets not under the active KEK, each by compare-and-swap on the
   * bytes it read (a row changed meanwhile is left for the next run); skips what cannot be opened.
   */
  rewrap(): Promise<RewrapOutcome>;
  /** How many stored secrets each KEK id wraps. */
  countByKek(): Promise<Map<string, number>>;
}

export interface KeyRotationResult {
  kekId: string;
  rewrapped: number;
  skipped: number;
  /** Secrets still not under the active KEK after this run (skipped ones, and any written meanwhile by a replica on an older active KEK). */
  remaining: number;
}

export interface KekUsage {
  kekId: string;
  /** Whether the ring holds this KEK (false: its rows cannot be opened). */
  inRing: boolean;
  active: boolean;
  rows: number;
  /** Rows per table. */
  tables: Record<string, number>;
}

export interface KeyCustodyStatus {
  activeKekId: string;
  configuredKekIds: string[];
  keks: KekUsage[];
  /** KEK ids stored rows use that the ring lacks. */
  missingKekIds: string[];
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
export class KeyCustodyService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(KeyCustodyService.name);
  private loaded?: LoadedKekRing;
  private readonly tables = new Map<string, SealedTable>();

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
   * order, one at a time, so it can share the caller's transaction); `save` answers whether it
   * stored it (false: the row changed meanwhile). An item that cannot be opened is skipped and
   * logged by name (its AAD), never by content; any other failure stops the pass.
   */
  async rewrapAll<T>(
    items: Iterable<T> | AsyncIterable<T>,
    locate: (item: T) => { sealed: SealedSecret; aad: string },
    save: (item: T, rewrapped: SealedSecret) => Promise<boolean>,
  ): Promise<RewrapOutcome> {
    const outcome: RewrapOutcome = { rewrapped: 0, skipped: 0 };
    for await (const item of items) {
      const { sealed, aad } = locate(item);
      let rewrapped: SealedSecret | null;
      try {
        rewrapped = this.rewrap(sealed, aad);
      } catch (error) {
        if (!(error instanceof DomainError) || error.code !== ErrorCode.KEY_UNAVAILABLE) throw error;
        outcome.skipped++;
        this.logger.warn({ msg: 'a stored secret cannot be opened; left under its KEK', ...error.detail });
        continue;
      }
      if (!rewrapped) continue;
      if (await save(item, rewrapped)) outcome.rewrapped++;
    }
    return outcome;
  }

  /** Registers a table of sealed secrets for rotation, status and the start-up check; one name, one table. */
  registerSealedTable(name: string, table: SealedTable): void {
    if (this.tables.has(name)) throw new Error(`sealed table ${name} is already registered`);
    this.tables.set(name, table);
  }

  /**
   * Re-wraps every registered table's secrets under the active KEK. Rows that cannot be opened
   * are skipped and counted; a run can simply be repeated, since rows already re-wrapped are
   * not read again.
   */
  async rotate(): Promise<KeyRotationResult> {
    let rewrapped = 0;
    let skipped = 0;
    for (const [name, table] of this.tables) {
      const outcome = await table.rewrap();
      this.logger.log({ msg: 'secrets re-wrapped', table: name, ...outcome, kekId: this.activeKekId });
      rewrapped += outcome.rewrapped;
      skipped += outcome.skipped;
    }
    const status = await this.status();
    const remaining = status.keks.filter((usage) => !usage.active).reduce((sum, usage) => sum + usage.rows, 0);
    return { kekId: this.activeKekId, rewrapped, skipped, remaining };
  }

  /** Stored secrets per KEK id across every registered table, and the ids the ring lacks. */
  async status(): Promise<KeyCustodyStatus> {
    const usage = new Map<string, KekUsage>();
    const ring = this.ring;
    for (const id of ring.keks.keys()) usage.set(id, { kekId: id, inRing: true, active: id === ring.active.id, rows: 0, tables: {} });
    for (const [name, table] of this.tables) {
      for (const [kekId, rows] of await table.countByKek()) {
        const entry = usage.get(kekId) ?? { kekId, inRing: false, active: false, rows: 0, tables: {} };
        entry.rows += rows;
        entry.tables[name] = (entry.tables[name] ?? 0) + rows;
        usage.set(kekId, entry);
      }
    }
    const keks = [...usage.values()]
      .sort((a, b) => a.kekId.localeCompare(b.kekId))
      .map((entry) => ({ ...entry, tables: Object.fromEntries(Object.entries(entry.tables).sort(([a], [b]) => a.localeCompare(b))) }));
    return {
      activeKekId: ring.active.id,
      configuredKekIds: [...ring.keks.keys()],
      keks,
      missingKekIds: keks.filter((entry) => !entry.inRing && entry.rows > 0).map((entry) => entry.kekId),
    };
  }

  /**
   * Runs after every module registered its tables, before the service listens: stored secrets
   * under a KEK the ring lacks could never be opened, so the service must not report ready.
   */
  async onApplicationBootstrap(): Promise<void> {
    const status = await this.status();
    if (status.missingKekIds.length === 0) return;
    const missing = status.keks
      .filter((entry) => status.missingKekIds.includes(entry.kekId))
      .map((entry) => `${entry.kekId} (${entry.rows} ${entry.rows === 1 ? 'row' : 'rows'})`)
      .join(', ');
    throw new ConfigError(
      `invalid configuration: stored secrets use KEK ids that ${this.loaded?.label ?? 'the KEK ring'} lacks: ${missing}; add those KEKs back (re-wrap with POST /admin/keys/rotate before removing a KEK)`,
    );
  }

  /** Drops the KEKs from memory; JS cannot promise more than zeroing our own copies. */
  onModuleDestroy(): void {
    for (const kek of this.loaded?.ring.keks.values() ?? []) kek.key.fill(0);
    this.loaded = undefined;
  }
}
