/**
 * Registered measurement sets: matching input for the policy layer, creation (from
 * MEASUREMENTS_FILE at start, and from the admin API), and the sealed root passphrase.
 * Sets are immutable per version: the loader inserts new versions and only logs differences.
 */
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import type { MeasurementSetPolicy } from '../attestation/core/policy/measurement-policy';
import { KeyCustodyService, RewrapOutcome } from '../keys/key-custody.service';
import { MeasurementSetInput, differingFields } from './measurement-set.input';
import { MeasurementSet } from './measurement-set.types';
import { MeasurementSetsRepository } from './measurement-sets.repository';
import { parseMeasurementsFile, readPassphraseFile } from './measurements-file';

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
  };
}

export const rootPassphraseAad = (version: string) => `root|${version}`;

@Injectable()
export class MeasurementSetsService implements OnModuleInit {
  private readonly logger = new Logger('measurements');

  constructor(
    private readonly sets: MeasurementSetsRepository,
    private readonly custody: KeyCustodyService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.custody.registerSealedTable('measurement_sets', { rewrap: () => this.rewrapRootPassphrases(), countByKek: () => this.sets.countRootByKek() });
    if (this.config.measurementsFile) await this.loadFile(this.config.measurementsFile);
    const keyless = (await this.active()).filter((set) => !set.sealedRootPassphrase).map((set) => `${set.name} ${set.version}`);
    if (keyless.length > 0) {
      this.logger.warn(`measurement sets without a root passphrase can match but never release a root key: ${keyless.join(', ')}`);
    }
  }

  /** Active (not retired) sets, oldest first so matching is deterministic. */
  active(): Promise<MeasurementSet[]> {
    return this.sets.active();
  }

  /** Every set, retired ones included, oldest first. */
  all(): Promise<MeasurementSet[]> {
    return this.sets.all();
  }

  byVersion(version: string): Promise<MeasurementSet | null> {
    return this.sets.byVersion(version);
  }

  /** Inserts a new version; `false` when that version already exists (nothing is changed). */
  async create(input: MeasurementSetInput, rootPassphrase?: Uint8Array): Promise<boolean> {
    const sealed = rootPassphrase ? this.custody.seal(rootPassphrase, rootPassphraseAad(input.version)) : null;
    return this.sets.insert(input, sealed, this.clock.now());
  }

  /** Marks a set retired (kept for audit, no longer matched); false if unknown or already retired. */
  async retire(version: string): Promise<boolean> {
    return this.sets.retire(version, this.clock.now());
  }

  /** The set's root passphrase, or null when it has none. Callers must not log or keep it. */
  rootPassphrase(set: MeasurementSet): Buffer | null {
    if (!set.sealedRootPassphrase) return null;
    return Buffer.from(this.custody.open(set.sealedRootPassphrase, rootPassphraseAad(set.version)));
  }

  private async loadFile(file: string): Promise<void> {
    const entries = parseMeasurementsFile(file);
    const defaultPassphrase = this.config.luksRootPassphraseFile ? readPassphraseFile(this.config.luksRootPassphraseFile, 'LUKS_ROOT_PASSPHRASE_FILE') : null;
    let inserted = 0;
    for (const { input, rootPassphraseFile } of entries) {
      const existing = await this.byVersion(input.version);
      if (existing) {
        const differences = differingFields(toInput(existing), input);
        if (differences.length > 0) {
          this.logger.warn(`MEASUREMENTS_FILE: version ${input.version} is already registered and differs in ${differences.join(', ')}; sets are immutable, the stored one stays`);
        }
        if (existing.retiredAt) this.logger.log(`MEASUREMENTS_FILE: version ${input.version} is retired and stays retired`);
        continue;
      }
      const passphrase = rootPassphraseFile ? readPassphraseFile(rootPassphraseFile, `MEASUREMENTS_FILE root_passphrase_file of version ${input.version}`) : defaultPassphrase;
      if (await this.create(input, passphrase ?? undefined)) inserted++;
      if (rootPassphraseFile) passphrase?.fill(0);
    }
    defaultPassphrase?.fill(0);
    this.logger.log(`MEASUREMENTS_FILE: ${entries.length} sets read, ${inserted} new versions registered`);
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
