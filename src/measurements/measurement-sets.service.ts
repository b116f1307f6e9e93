/**
 * Registered measurement sets: matching input for the policy layer, creation (from
 * MEASUREMENTS_FILE at start and whenever the file changes, and from the admin API), and the
 * sealed root passphrase. Sets are immutable per (name, version): the loader inserts new sets and
 * only logs differences. A malformed file entry is skipped with one warning line, counted in
 * `bootkey_measurement_entries_skipped` and listed in /readyz; the service still starts.
 */
import * as fs from 'node:fs';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig, ConfigError } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { sha256Hex } from '../common/crypto/hashing';
import type { MeasurementSetPolicy } from '../attestation/core/policy/measurement-policy';
import { KeyCustodyService, RewrapOutcome } from '../keys/key-custody.service';
import { MetricsService } from '../ops/metrics.service';
import { ReadinessFacts } from '../ops/readiness-facts';
import { MeasurementSetInput, differingFields } from '../common/validation/measurement-set.input';
import { MeasurementSet } from './measurement-set.types';
import { MeasurementSetsRepository } from './measurement-sets.repository';
import { parseMeasurementsText, readMeasurementsText, readPassphraseFile, SkippedEntry } from './measurements-file';

/** How often the file's metadata is looked at (a stat, following symlinks: ConfigMap updates swap them). */
const WATCH_INTERVAL_MS = 1000;

export function toPolicy(set: MeasurementSet): MeasurementSetPolicy {
  return { name: set.name, version: set.version, mrtd: set.mrtd, bootRtmrs: set.bootRtmrs, runtimeRtmrs: set.runtimeRtmrs };
}

export function toInput(set: MeasurementSet): MeasurementSetInput {
  return {
    name: set.name,
    version: set.version,
    mrtd: set.mrtd,
    bootRtmrs: set.bootRtmrs as MeasurementSetInput['bootRtmrs'],
    runtimeRtmrs: set.runtimeRtmrs as MeasurementSetInput['runtimeRtmrs'],
    expectedGpus: set.expectedGpus,
    gpuCount: set.gpuCount,
    rc: set.rc,
    authorizedHotkeys: set.authorizedHotkeys,
  };
}

/** The AAD of a set's sealed root passphrase (kept per version: sets written before names were identities use it). */
export const rootPassphraseAad = (version: string) => `root|${version}`;

@Injectable()
export class MeasurementSetsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('measurements');
  /** SHA-256 of the file text last loaded: a touch without a change reloads nothing. */
  private loadedDigest?: string;
  /** Reloads run one after another. */
  private reloading: Promise<void> = Promise.resolve();
  private watching = false;
  private listener?: (current: fs.Stats, previous: fs.Stats) => void;

  constructor(
    private readonly sets: MeasurementSetsRepository,
    private readonly custody: KeyCustodyService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly facts: ReadinessFacts,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.custody.registerSealedTable('measurement_sets', { rewrap: () => this.rewrapRootPassphrases(), countByKek: () => this.sets.countRootByKek() });
    const file = this.config.measurementsFile;
    if (file) {
      // At start a file that cannot be read at all stops the service (one line); later, a bad re-read only logs.
      await this.loadFile(file, readMeasurementsText(file));
      this.watch(file);
    }
    const keyless = (await this.activeWithCandidates()).filter((set) => !set.sealedRootPassphrase).map((set) => `${set.name} ${set.version}`);
    if (keyless.length > 0) {
      this.logger.warn(`measurement sets without a root passphrase can match but never release a root key: ${keyless.join(', ')}`);
    }
  }

  onModuleDestroy(): void {
    // This listener only: another instance in the process (tests) may watch the same file.
    if (this.listener && this.config.measurementsFile) fs.unwatchFile(this.config.measurementsFile, this.listener);
    this.watching = false;
  }

  /**
   * The published sets: not retired, and not release candidates. What anonymous callers may see
   * (the quote tools, `GET /servers/tee/measurements`); appraisal uses `activeWithCandidates`.
   */
  async active(): Promise<MeasurementSet[]> {
    return (await this.sets.active()).filter((set) => !set.rc);
  }

  /**
   * Every set not retired, release candidates included, in matching order. An rc set may match
   * only for a caller proving a hotkey in its `authorized_hotkeys` (QuoteAppraisalService gates it).
   */
  activeWithCandidates(): Promise<MeasurementSet[]> {
    return this.sets.active();
  }

  /** Every set, retired ones included, oldest first. */
  all(): Promise<MeasurementSet[]> {
    return this.sets.all();
  }

  /** Every set of a version (one per hardware flavour), retired ones included. */
  byVersion(version: string): Promise<MeasurementSet[]> {
    return this.sets.byVersion(version);
  }

  byNameAndVersion(name: string, version: string): Promise<MeasurementSet | null> {
    return this.sets.byNameAndVersion(name, version);
  }

  /** Inserts a new (name, version); `false` when that set already exists (nothing is changed). */
  async create(input: MeasurementSetInput, rootPassphrase?: Uint8Array): Promise<boolean> {
    const sealed = rootPassphrase ? this.custody.seal(rootPassphrase, rootPassphraseAad(input.version)) : null;
    return this.sets.insert(input, sealed, this.clock.now());
  }

  /** Marks a set retired (kept for audit, no longer matched); false if already retired. */
  async retire(set: MeasurementSet): Promise<boolean> {
    return this.sets.retire(set.id, this.clock.now());
  }

  /** The set's root passphrase, or null when it has none. Callers must not log or keep it. */
  rootPassphrase(set: MeasurementSet): Buffer | null {
    if (!set.sealedRootPassphrase) return null;
    return Buffer.from(this.custody.open(set.sealedRootPassphrase, rootPassphraseAad(set.version)));
  }

  /** Re-reads the file when its metadata changes; polling stat survives editors' renames and ConfigMap symlink swaps. */
  private watch(file: string): void {
    this.watching = true;
    this.listener = (current, previous) => {
      if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
      this.reloading = this.reloading.then(() => this.reload(file));
    };
    fs.watchFile(file, { persistent: false, interval: WATCH_INTERVAL_MS }, this.listener);
  }

  /** A re-read while running: any failure is logged and shown in /readyz; the stored sets stay in use. */
  private async reload(file: string): Promise<void> {
    if (!this.watching) return;
    try {
      await this.loadFile(file, readMeasurementsText(file));
    } catch (error) {
      const reason =
        error instanceof ConfigError
          ? error.message.replace(/^invalid configuration: /, '')
          : `MEASUREMENTS_FILE ${file} could not be loaded (${(error as Error).message.split('\n')[0]})`;
      this.logger.error(`${reason}; the sets already registered stay in use`);
      this.loadedDigest = undefined;
      if (this.facts.measurementsFile) this.facts.measurementsFile = { ...this.facts.measurementsFile, read_at: this.clock.now().toISOString(), error: reason };
    }
  }

  private async loadFile(file: string, text: string): Promise<void> {
    const digest = sha256Hex(text);
    if (digest === this.loadedDigest) return;
    const { entries, skipped } = parseMeasurementsText(text, file);
    const defaultPassphrase = this.config.luksRootPassphraseFile ? readPassphraseFile(this.config.luksRootPassphraseFile, 'LUKS_ROOT_PASSPHRASE_FILE') : null;
    const problems: SkippedEntry[] = [...skipped];
    let inserted = 0;
    try {
      for (const { input, label, rootPassphraseFile } of entries) {
        const existing = await this.byNameAndVersion(input.name, input.version);
        if (existing) {
          const differences = differingFields(toInput(existing), input);
          if (differences.length > 0) {
            this.logger.warn(
              `MEASUREMENTS_FILE: ${input.name} ${input.version} is already registered and differs in ${differences.join(', ')}; sets are immutable, the stored one stays`,
            );
          }
          continue;
        }
        let passphrase: Buffer | null = defaultPassphrase;
        if (rootPassphraseFile) {
          try {
            passphrase = readPassphraseFile(rootPassphraseFile, 'root_passphrase_file');
          } catch (error) {
            // A set stored without its key could never get one (sets are immutable): leave it out until the file is fixed.
            if (!(error instanceof ConfigError)) throw error;
            problems.push({ entry: label, problem: error.message.replace(/^invalid configuration: /, '') });
            continue;
          }
        }
        try {
          if (await this.create(input, passphrase ?? undefined)) inserted++;
        } finally {
          if (rootPassphraseFile) passphrase?.fill(0);
        }
      }
    } finally {
      defaultPassphrase?.fill(0);
    }
    for (const { entry, problem } of problems) this.logger.warn(`MEASUREMENTS_FILE ${file} ${entry} skipped: ${problem}`);
    this.metrics.measurementEntriesSkipped.set(problems.length);
    const sets = entries.length - (problems.length - skipped.length);
    this.facts.measurementsFile = { file, read_at: this.clock.now().toISOString(), sets, entries_skipped: problems.length, skipped: problems };
    this.loadedDigest = digest;
    this.logger.log(
      `MEASUREMENTS_FILE: ${sets} sets read, ${inserted} new sets registered${problems.length > 0 ? `, ${problems.length} entries skipped` : ''}`,
    );
  }

  private async rewrapRootPassphrases(): Promise<RewrapOutcome> {
    const stale = await this.sets.rootPassphrasesNotUnder(this.custody.activeKekId);
    return this.custody.rewrapAll(
      stale,
      (root) => ({ sealed: root.sealed, aad: rootPassphraseAad(root.version) }),
      (root, rewrapped) => this.sets.replaceRootWrap(root, rewrapped),
    );
  }
}
