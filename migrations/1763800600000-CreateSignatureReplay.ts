import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The replay cache of hotkey signatures: SHA-256 of each accepted signature, kept until its
 * timestamp leaves the signature window (then it could not be accepted anyway) and purged.
 */
export class CreateSignatureReplay1763800600000 implements MigrationInterface {
  name = 'CreateSignatureReplay1763800600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE signature_replays (
        signature_hash  text PRIMARY KEY,
        hotkey          text NOT NULL,
        seen_at         timestamptz NOT NULL,
        expires_at      timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX idx_signature_replays_expires_at ON signature_replays (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX idx_signature_replays_expires_at`);
    await queryRunner.query(`DROP TABLE signature_replays`);
  }
}
