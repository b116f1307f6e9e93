import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A measurement set is identified by (name, version), not by version alone: a Chutes release
 * (gen C, one `version` with a `hardware:` list) is one set per GPU flavour, all sharing the
 * version. Adds the release-candidate gate of gen C: `rc` sets match only for a caller proving a
 * hotkey listed in `authorized_hotkeys`. `down` refuses to run while two sets share a version
 * (putting the old unique key back would fail half-way, or need deleting audit-relevant rows).
 */
export class MeasurementSetIdentity1763801000000 implements MigrationInterface {
  name = 'MeasurementSetIdentity1763801000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE measurement_sets DROP CONSTRAINT uq_measurement_sets_version`);
    await queryRunner.query(`ALTER TABLE measurement_sets ADD CONSTRAINT uq_measurement_sets_name_version UNIQUE (name, version)`);
    await queryRunner.query(`CREATE INDEX idx_measurement_sets_version ON measurement_sets (version)`);
    await queryRunner.query(`ALTER TABLE measurement_sets ADD COLUMN rc boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`ALTER TABLE measurement_sets ADD COLUMN authorized_hotkeys jsonb NOT NULL DEFAULT '[]'::jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const shared = (await queryRunner.query(`SELECT version FROM measurement_sets GROUP BY version HAVING count(*) > 1 LIMIT 1`)) as { version: string }[];
    if (shared.length > 0) throw new Error(`cannot revert MeasurementSetIdentity: several measurement sets share version ${shared[0].version}`);
    await queryRunner.query(`ALTER TABLE measurement_sets DROP COLUMN authorized_hotkeys`);
    await queryRunner.query(`ALTER TABLE measurement_sets DROP COLUMN rc`);
    await queryRunner.query(`DROP INDEX idx_measurement_sets_version`);
    await queryRunner.query(`ALTER TABLE measurement_sets DROP CONSTRAINT uq_measurement_sets_name_version`);
    await queryRunner.query(`ALTER TABLE measurement_sets ADD CONSTRAINT uq_measurement_sets_version UNIQUE (version)`);
  }
}
