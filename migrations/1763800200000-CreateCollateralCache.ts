import { MigrationInterface, QueryRunner } from 'typeorm';

/** DCAP collateral fetched from a PCCS, per platform (FMSPC) and PCK CA, shared by all replicas. */
export class CreateCollateralCache1763800200000 implements MigrationInterface {
  name = 'CreateCollateralCache1763800200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE collateral_cache (
        fmspc        text NOT NULL,
        ca           text NOT NULL CONSTRAINT chk_collateral_cache_ca CHECK (ca IN ('platform', 'processor')),
        bundle       text NOT NULL,
        next_update  timestamptz NOT NULL,
        fetched_at   timestamptz NOT NULL,
        CONSTRAINT pk_collateral_cache PRIMARY KEY (fmspc, ca)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE collateral_cache`);
  }
}
