import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Key-check values, one per KEK id ever used: a constant sealed under that KEK, so a wrong key
 * configured for a known id is refused at start instead of failing later on every secret.
 */
export class CreateKeyCustody1763800100000 implements MigrationInterface {
  name = 'CreateKeyCustody1763800100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE kek_checks (
        kek_id       text PRIMARY KEY CONSTRAINT chk_kek_checks_kek_id CHECK (kek_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
        wrapped_key  bytea NOT NULL CONSTRAINT chk_kek_checks_wrapped_key CHECK (octet_length(wrapped_key) = 72),
        ciphertext   bytea NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE kek_checks`);
  }
}
