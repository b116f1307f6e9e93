import { MigrationInterface, QueryRunner } from 'typeorm';

/** Single-use nonces: only their SHA-256 is stored, with purpose, client IP and expiry. */
export class CreateNonces1763800000000 implements MigrationInterface {
  name = 'CreateNonces1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE nonces (
        nonce_hash  text PRIMARY KEY,
        purpose     text NOT NULL CONSTRAINT chk_nonces_purpose CHECK (purpose IN ('boot', 'runtime')),
        client_ip   text NOT NULL,
        server_id   uuid NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        expires_at  timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX idx_nonces_expires_at ON nonces (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX idx_nonces_expires_at`);
    await queryRunner.query(`DROP TABLE nonces`);
  }
}
