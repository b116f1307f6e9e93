import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scopes hotkey signatures (DESIGN.md "Hotkey-signed", v2). A replay row now says which message
 * format verified (1 = the Chutes message, 2 = bootkey's) and which HTTP method the signature was
 * first used with: a v1 signature is bound to that method. `signature_uses` holds each
 * (method, path with query) a v1 signature was used on, keyed by SHA-256 of both so that a long
 * URL cannot overflow the index; its primary key makes each use single, and its rows go with
 * their replay row. Rows written before this migration keep `method` NULL: such a signature was
 * used once without scope, and stays refused until it is purged.
 */
export class SignatureScope1763800700000 implements MigrationInterface {
  name = 'SignatureScope1763800700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE signature_replays ADD COLUMN version smallint`);
    await queryRunner.query(`ALTER TABLE signature_replays ADD COLUMN method text`);
    await queryRunner.query(`
      CREATE TABLE signature_uses (
        signature_hash  text NOT NULL REFERENCES signature_replays (signature_hash) ON DELETE CASCADE,
        target_hash     text NOT NULL,
        method          text NOT NULL,
        path            text NOT NULL,
        used_at         timestamptz NOT NULL,
        CONSTRAINT pk_signature_uses PRIMARY KEY (signature_hash, target_hash)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE signature_uses`);
    await queryRunner.query(`ALTER TABLE signature_replays DROP COLUMN method`);
    await queryRunner.query(`ALTER TABLE signature_replays DROP COLUMN version`);
  }
}
