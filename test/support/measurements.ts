/** Test helper: registers a measurement set straight in the table (admin API arrives later). */
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { TestApp } from './app';

export interface TestMeasurementSet {
  name: string;
  version: string;
  mrtd: string;
  boot_rtmrs: Record<string, string>;
  runtime_rtmrs: Record<string, string>;
  expected_gpus?: string[];
  gpu_count?: number | null;
}

export async function insertMeasurementSet(app: TestApp, set: TestMeasurementSet): Promise<void> {
  await app.app
    .get(DataSource)
    .query(
      `INSERT INTO measurement_sets (id, name, version, mrtd, boot_rtmrs, runtime_rtmrs, expected_gpus, gpu_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        randomUUID(),
        set.name,
        set.version,
        set.mrtd,
        JSON.stringify(set.boot_rtmrs),
        JSON.stringify(set.runtime_rtmrs),
        JSON.stringify(set.expected_gpus ?? []),
        set.gpu_count ?? null,
      ],
    );
}
