/**
 * Registered measurement sets: matching input for the policy layer, creation (from
 * MEASUREMENTS_FILE at start, and from the admin API), and the sealed root passphrase.
 * Sets are immutable per version: the loader inserts new versions and only logs differences.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DataSource, IsNull } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { queryRows } from '../database/sql';
import type { MeasurementSetPolicy } from '../attestation/core/policy/measurement-policy';
import { KeyCustodyService, sealedFromRow } from '../keys/key-custody.service';
import { MeasurementSetEntity } from './measurement-set.entity';
import { MeasurementSetInput, differingFields } from './measurement-set.input';
import { parseMeasurementsFile, readPassphraseFile } from './measurements-file';

export function toPolicy(entity: MeasurementSetEntity): MeasurementSetPolicy {
  return { name: entity.name, version: entity.version, mrtd: entity.mrtd, bootRtmrs: entity.bootRtmrs, runtimeRtmrs: entity.runtimeRtmrs };
}

export function toInput(entity: MeasurementSetEntity): MeasurementSetInput {
  return {
    name: entity.name,
    version: entity.version,
    mrtd: entity.mrtd,
    bootRtmrs: entity.bootRtmrs as MeasurementSetInput['bootRtmrs'],
    runtimeRtmrs: entity.runtimeRtmrs as MeasurementSetInput['runtimeRtmrs'],
    expectedGpus: entity.expectedGpus,
    gpuCount: entity.gpuCount,
  };
}

export const rootPassphraseAad = (version: string) => `root|${version}`;

@Injectable()
export class MeasurementSetsService implements OnModuleInit {
  private readonly logger = new Logger('measurements');

  constructor(
    private readonly dataSource: DataSource,
    private readonly custody: KeyCustodyService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.custody.registerRewrapTask('measurement_sets', () => this.rewrapRootPassphrases());
    if (this.config.measurementsFile) await this.loadFile(this.config.measurementsFile);
    const keyless = (await this.active()).filter((set) => !set.rootKekId).map((set) => `${set.name} ${set.version}`);
    if (keyless.length > 0) {
      this.logger.warn(`measurement sets without a root passphrase can match but never release a root key: ${keyless.join(', ')}`);
    }
  }

  /** Active (not retired) sets, oldest first so matching is deterministic. */
  async active(): Promise<MeasurementSetEntity[]> {
    return this.dataSource.getRepository(MeasurementSetEntity).find({ where: { retiredAt: IsNull() }, order: { createdAt: 'ASC', version: 'ASC' } });
  }

  async byVersion(version: string): Promise<MeasurementSetEntity | null> {
    return this.dataSource.getRepository(MeasurementSetEntity).findOne({ where: { version } });
  }

  /** Inserts a new version; `false` when that version already exists (nothing is changed). */
  async create(input: MeasurementSetInput, rootPassphrase?: Uint8Array): Promise<boolean> {
    const sealed = rootPassphrase ? this.custody.seal(rootPassphrase, rootPassphraseAad(input.version)) : null;
    const rows = await queryRows<{ id: string }>(
      this.dataSource,
      `INSERT INTO measurement_sets (id, name, version, mrtd, boot_rtmrs, runtime_rtmrs, expected_gpus, gpu_count, root_kek_id, root_wrapped_key, root_ciphertext, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (version) DO NOTHING RETURNING id`,
      [
        randomUUID(),
        input.name,
        input.version,
        input.mrtd,
        JSON.stringify(input.bootRtmrs),
        JSON.stringify(input.runtimeRtmrs),
        JSON.stringify(input.expectedGpus),
        input.gpuCount,
        sealed?.kekId ?? null,
        sealed ? Buffer.from(sealed.wrappedKey) : null,
        sealed ? Buffer.from(sealed.ciphertext) : null,
        this.clock.now(),
      ],
    );
    return rows.length === 1;
  }

  /** Marks a set retired (kept for audit, no longer matched); false if unknown or already retired. */
  async retire(version: string): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(this.dataSource, `UPDATE measurement_sets SET retired_at = $2 WHERE version = $1 AND retired_at IS NULL RETURNING id`, [
      version,
      this.clock.now(),
    ]);
    return rows.length === 1;
  }

  /** The set's root passphrase, or null when it has none. Callers must not log or keep it. */
  rootPassphrase(set: MeasurementSetEntity): Buffer | null {
    if (!set.rootKekId || !set.rootWrappedKey || !set.rootCiphertext) return null;
    const sealed = sealedFromRow({ kek_id: set.rootKekId, wrapped_key: set.rootWrappedKey, ciphertext: set.rootCiphertext });
    return Buffer.from(this.custody.open(sealed, rootPassphraseAad(set.version)));
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

  private async rewrapRootPassphrases(): Promise<number> {
    const rows = await queryRows<{ id: string; version: string; root_kek_id: string; root_wrapped_key: Uint8Array; root_ciphertext: Uint8Array }>(
      this.dataSource,
      `SELECT id, version, root_kek_id, root_wrapped_key, root_ciphertext FROM measurement_sets WHERE root_kek_id IS NOT NULL AND root_kek_id <> $1`,
      [this.custody.activeKekId],
    );
    return this.custody.rewrapAll(
      rows,
      (row) => ({ sealed: sealedFromRow({ kek_id: row.root_kek_id, wrapped_key: row.root_wrapped_key, ciphertext: row.root_ciphertext }), aad: rootPassphraseAad(row.version) }),
      (row, rewrapped) =>
        this.dataSource.query(`UPDATE measurement_sets SET root_kek_id = $2, root_wrapped_key = $3 WHERE id = $1 AND root_kek_id = $4`, [
          row.id,
          rewrapped.kekId,
          Buffer.from(rewrapped.wrappedKey),
          row.root_kek_id,
        ]),
    );
  }
}
