import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Registered measurement sets: what an acceptable TD image measures to. Immutable per version;
 * retiring keeps the row for audit and stops it matching.
 */
export class CreateMeasurementSets1763800300000 implements MigrationInterface {
  name = 'CreateMeasurementSets1763800300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE measurement_sets (
        id             uuid PRIMARY KEY,
        name           text NOT NULL,
        version        text NOT NULL CONSTRAINT uq_measurement_sets_version UNIQUE,
        mrtd           text NOT NULL,
        boot_rtmrs     jsonb NOT NULL,
        runtime_rtmrs  jsonb NOT NULL,
        expected_gpus  jsonb NOT NULL DEFAULT '[]'::jsonb,
        gpu_count      integer NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        retired_at     timestamptz NULL
      )`);
    await queryRunner.query(`CREATE INDEX idx_measurement_sets_active ON measurement_sets (created_at) WHERE retired_at IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX idx_measurement_sets_active`);
    await queryRunner.query(`DROP TABLE measurement_sets`);
  }
}
