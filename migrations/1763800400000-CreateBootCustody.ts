import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Boot attestation and LUKS key custody: the root passphrase of a measurement set (sealed),
 * miner admission, the audit trail of every boot attempt, one-time boot tokens (hashes only),
 * per-VM volume keys (sealed), and key-release events (which volumes, never the keys).
 */
export class CreateBootCustody1763800400000 implements MigrationInterface {
  name = 'CreateBootCustody1763800400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE measurement_sets
        ADD COLUMN root_kek_id       text NULL,
        ADD COLUMN root_wrapped_key  bytea NULL,
        ADD COLUMN root_ciphertext   bytea NULL`);
    await queryRunner.query(`
      CREATE TABLE miners (
        hotkey      text PRIMARY KEY,
        status      text NOT NULL CONSTRAINT chk_miners_status CHECK (status IN ('allowed', 'blocked')),
        reason      text NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE boot_attestations (
        id                   uuid PRIMARY KEY,
        created_at           timestamptz NOT NULL,
        miner_hotkey         text NULL,
        vm_name              text NULL,
        client_ip            text NOT NULL,
        quote_sha256         text NULL,
        outcome              text NOT NULL CONSTRAINT chk_boot_attestations_outcome CHECK (outcome IN ('verified', 'failed')),
        error_code           text NULL,
        measurement_name     text NULL,
        measurement_version  text NULL,
        tcb_status           text NULL,
        advisory_ids         jsonb NOT NULL DEFAULT '[]'::jsonb,
        verdict              jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await queryRunner.query(`CREATE INDEX idx_boot_attestations_created_at ON boot_attestations (created_at)`);
    await queryRunner.query(`CREATE INDEX idx_boot_attestations_vm ON boot_attestations (miner_hotkey, vm_name, created_at)`);
    await queryRunner.query(`
      CREATE TABLE boot_tokens (
        token_hash      text PRIMARY KEY,
        miner_hotkey    text NOT NULL,
        vm_name         text NOT NULL,
        attestation_id  uuid NOT NULL CONSTRAINT fk_boot_tokens_attestation REFERENCES boot_attestations (id),
        created_at      timestamptz NOT NULL,
        expires_at      timestamptz NOT NULL,
        consumed_at     timestamptz NULL
      )`);
    await queryRunner.query(`CREATE INDEX idx_boot_tokens_expires_at ON boot_tokens (expires_at)`);
    await queryRunner.query(`CREATE INDEX idx_boot_tokens_attestation ON boot_tokens (attestation_id)`);
    await queryRunner.query(`
      CREATE TABLE luks_vms (
        miner_hotkey  text NOT NULL,
        vm_name       text NOT NULL,
        created_at    timestamptz NOT NULL,
        CONSTRAINT pk_luks_vms PRIMARY KEY (miner_hotkey, vm_name)
      )`);
    await queryRunner.query(`
      CREATE TABLE luks_volumes (
        miner_hotkey  text NOT NULL,
        vm_name       text NOT NULL,
        volume        text NOT NULL,
        kek_id        text NOT NULL,
        wrapped_key   bytea NOT NULL,
        ciphertext    bytea NOT NULL,
        created_at    timestamptz NOT NULL,
        updated_at    timestamptz NOT NULL,
        CONSTRAINT pk_luks_volumes PRIMARY KEY (miner_hotkey, vm_name, volume),
        CONSTRAINT fk_luks_volumes_vm FOREIGN KEY (miner_hotkey, vm_name) REFERENCES luks_vms (miner_hotkey, vm_name) ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX idx_luks_volumes_kek ON luks_volumes (kek_id)`);
    await queryRunner.query(`
      CREATE TABLE key_release_events (
        id              uuid PRIMARY KEY,
        created_at      timestamptz NOT NULL,
        kind            text NOT NULL CONSTRAINT chk_key_release_events_kind CHECK (kind IN ('root', 'sync', 'legacy_get', 'destroy')),
        miner_hotkey    text NOT NULL,
        vm_name         text NOT NULL,
        attestation_id  uuid NULL,
        client_ip       text NULL,
        returned        jsonb NOT NULL DEFAULT '[]'::jsonb,
        created         jsonb NOT NULL DEFAULT '[]'::jsonb,
        rekeyed         jsonb NOT NULL DEFAULT '[]'::jsonb,
        pruned          jsonb NOT NULL DEFAULT '[]'::jsonb
      )`);
    await queryRunner.query(`CREATE INDEX idx_key_release_events_vm ON key_release_events (miner_hotkey, vm_name, created_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE key_release_events`);
    await queryRunner.query(`DROP TABLE luks_volumes`);
    await queryRunner.query(`DROP TABLE luks_vms`);
    await queryRunner.query(`DROP TABLE boot_tokens`);
    await queryRunner.query(`DROP TABLE boot_attestations`);
    await queryRunner.query(`DROP TABLE miners`);
    await queryRunner.query(`ALTER TABLE measurement_sets DROP COLUMN root_ciphertext, DROP COLUMN root_wrapped_key, DROP COLUMN root_kek_id`);
  }
}
