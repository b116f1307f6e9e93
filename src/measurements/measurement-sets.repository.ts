/** The `measurement_sets` table: registered sets, their retirement, and their sealed root passphrases. */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Database } from '../database/executor';
import type { SealedSecret } from '../keys/envelope';
import type { MeasurementSetInput } from '../common/validation/measurement-set.input';
import { MeasurementSet, RtmrSet, SealedRootPassphrase } from './measurement-set.types';

interface MeasurementSetRow {
  id: string;
  name: string;
  version: string;
  mrtd: string;
  boot_rtmrs: RtmrSet;
  runtime_rtmrs: RtmrSet;
  expected_gpus: string[];
  gpu_count: number | null;
  rc: boolean;
  authorized_hotkeys: string[];
  root_kek_id: string | null;
  root_wrapped_key: Buffer | null;
  root_ciphertext: Buffer | null;
  created_at: Date;
  retired_at: Date | null;
}

const COLUMNS = `id, name, version, mrtd, boot_rtmrs, runtime_rtmrs, expected_gpus, gpu_count, rc, authorized_hotkeys, root_kek_id, root_wrapped_key, root_ciphertext, created_at, retired_at`;

/** Oldest first, then by version and name, so matching and listings are deterministic. */
const ORDER = `ORDER BY created_at ASC, version ASC, name ASC`;

function toMeasurementSet(row: MeasurementSetRow): MeasurementSet {
  const sealed =
    row.root_kek_id !== null && row.root_wrapped_key !== null && row.root_ciphertext !== null
      ? { kekId: row.root_kek_id, wrappedKey: new Uint8Array(row.root_wrapped_key), ciphertext: new Uint8Array(row.root_ciphertext) }
      : null;
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    mrtd: row.mrtd,
    bootRtmrs: row.boot_rtmrs,
    runtimeRtmrs: row.runtime_rtmrs,
    expectedGpus: row.expected_gpus,
    gpuCount: row.gpu_count,
    rc: row.rc,
    authorizedHotkeys: row.authorized_hotkeys,
    sealedRootPassphrase: sealed,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  };
}

@Injectable()
export class MeasurementSetsRepository {
  constructor(private readonly db: Database) {}

  /** Sets not retired. */
  async active(): Promise<MeasurementSet[]> {
    const rows = await this.db.rows<MeasurementSetRow>(`SELECT ${COLUMNS} FROM measurement_sets WHERE retired_at IS NULL ${ORDER}`);
    return rows.map(toMeasurementSet);
  }

  /** Every set, retired ones included. */
  async all(): Promise<MeasurementSet[]> {
    const rows = await this.db.rows<MeasurementSetRow>(`SELECT ${COLUMNS} FROM measurement_sets ${ORDER}`);
    return rows.map(toMeasurementSet);
  }

  /** Every set of a version (one per hardware flavour), retired ones included. */
  async byVersion(version: string): Promise<MeasurementSet[]> {
    const rows = await this.db.rows<MeasurementSetRow>(`SELECT ${COLUMNS} FROM measurement_sets WHERE version = $1 ${ORDER}`, [version]);
    return rows.map(toMeasurementSet);
  }

  /** The set of this name and version (its identity), or null. */
  async byNameAndVersion(name: string, version: string): Promise<MeasurementSet | null> {
    const rows = await this.db.rows<MeasurementSetRow>(`SELECT ${COLUMNS} FROM measurement_sets WHERE name = $1 AND version = $2`, [name, version]);
    return rows.length === 0 ? null : toMeasurementSet(rows[0]);
  }

  /** Inserts a new (name, version); false when that set already exists (nothing is changed). */
  async insert(input: MeasurementSetInput, sealed: SealedSecret | null, createdAt: Date): Promise<boolean> {
    const rows = await this.db.rows<{ id: string }>(
      `INSERT INTO measurement_sets (id, name, version, mrtd, boot_rtmrs, runtime_rtmrs, expected_gpus, gpu_count, rc, authorized_hotkeys,
         root_kek_id, root_wrapped_key, root_ciphertext, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (name, version) DO NOTHING RETURNING id`,
      [
        randomUUID(),
        input.name,
        input.version,
        input.mrtd,
        JSON.stringify(input.bootRtmrs),
        JSON.stringify(input.runtimeRtmrs),
        JSON.stringify(input.expectedGpus),
        input.gpuCount,
        input.rc,
        JSON.stringify(input.authorizedHotkeys),
        sealed?.kekId ?? null,
        sealed ? Buffer.from(sealed.wrappedKey) : null,
        sealed ? Buffer.from(sealed.ciphertext) : null,
        createdAt,
      ],
    );
    return rows.length === 1;
  }

  /** Marks a set retired at `at`; false if unknown or already retired (its first retired_at stays). */
  async retire(id: string, at: Date): Promise<boolean> {
    const rows = await this.db.rows<{ id: string }>(`UPDATE measurement_sets SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL RETURNING id`, [id, at]);
    return rows.length === 1;
  }

  /** Root passphrases sealed under any KEK other than `kekId`. */
  async rootPassphrasesNotUnder(kekId: string): Promise<SealedRootPassphrase[]> {
    const rows = await this.db.rows<{ id: string; version: string; root_kek_id: string; root_wrapped_key: Buffer; root_ciphertext: Buffer }>(
      `SELECT id, version, root_kek_id, root_wrapped_key, root_ciphertext FROM measurement_sets
       WHERE root_kek_id IS NOT NULL AND root_kek_id <> $1 AND root_wrapped_key IS NOT NULL AND root_ciphertext IS NOT NULL`,
      [kekId],
    );
    return rows.map((row) => ({
      setId: row.id,
      version: row.version,
      sealed: { kekId: row.root_kek_id, wrappedKey: new Uint8Array(row.root_wrapped_key), ciphertext: new Uint8Array(row.root_ciphertext) },
    }));
  }

  /**
   * Stores a re-wrapped data key by compare-and-swap on the exact stored bytes (KEK id, wrapped
   * key, ciphertext as read); false when the row changed in between (the ciphertext never does).
   */
  async replaceRootWrap(root: SealedRootPassphrase, rewrapped: SealedSecret): Promise<boolean> {
    const rows = await this.db.rows(
      `UPDATE measurement_sets SET root_kek_id = $2, root_wrapped_key = $3
        WHERE id = $1 AND root_kek_id = $4 AND root_wrapped_key = $5 AND root_ciphertext = $6 RETURNING id`,
      [
        root.setId,
        rewrapped.kekId,
        Buffer.from(rewrapped.wrappedKey),
        root.sealed.kekId,
        Buffer.from(root.sealed.wrappedKey),
        Buffer.from(root.sealed.ciphertext),
      ],
    );
    return rows.length === 1;
  }

  /** How many sealed root passphrases each KEK id wraps. */
  async countRootByKek(): Promise<Map<string, number>> {
    const rows = await this.db.rows<{ kek_id: string; n: number }>(
      `SELECT root_kek_id AS kek_id, count(*)::int AS n FROM measurement_sets WHERE root_kek_id IS NOT NULL GROUP BY root_kek_id`,
    );
    return new Map(rows.map((row) => [row.kek_id, row.n]));
  }
}
