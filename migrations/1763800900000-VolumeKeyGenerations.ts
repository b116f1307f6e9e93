import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Volume key generations (DESIGN.md "Volume key generations"): a luks_volumes row is now one
 * generation of a volume's key, never overwritten and never deleted by a boot-token call.
 * State `current` (at most one per volume), `superseded` (replaced by a rekey or a restore),
 * `retired` (the volume was left out of a sync; at most one per volume), `shredded` (the sealed
 * bytes are gone, the row stays so generation numbers are never reused and events stay
 * unambiguous). `noncurrent_since` starts the KEY_RETENTION_DAYS clock.
 *
 * Existing rows become generation 1, current, created when their key was made (updated_at).
 * Their sealed bytes are untouched: generation 1 keeps the AAD `volume|hotkey|vm|volume`, later
 * generations bind their number (`...|volume|<generation>`), so bytes moved to another row —
 * another generation included — still fail to open.
 *
 * Also: luks_sync_receipts (what a sync answered, by generation, so an identical retry with the
 * same token can be answered again without a second copy of any key), and key-release event
 * kinds for replays, replacements, restores, shredding and the retention purge, with a `detail`.
 */
export class VolumeKeyGenerations1763800900000 implements MigrationInterface {
  name = 'VolumeKeyGenerations1763800900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE luks_volumes
        ADD COLUMN generation        integer NOT NULL DEFAULT 1,
        ADD COLUMN state             text NOT NULL DEFAULT 'current',
        ADD COLUMN attestation_id    uuid NULL,
        ADD COLUMN client_ip         text NULL,
        ADD COLUMN noncurrent_since  timestamptz NULL,
        ADD COLUMN shredded_at       timestamptz NULL,
        ALTER COLUMN kek_id DROP NOT NULL,
        ALTER COLUMN wrapped_key DROP NOT NULL,
        ALTER COLUMN ciphertext DROP NOT NULL`);
    await queryRunner.query(`UPDATE luks_volumes SET created_at = updated_at`);
    await queryRunner.query(`ALTER TABLE luks_volumes ALTER COLUMN generation DROP DEFAULT, ALTER COLUMN state DROP DEFAULT`);
    await queryRunner.query(`
      ALTER TABLE luks_volumes
        ADD CONSTRAINT chk_luks_volumes_generation CHECK (generation >= 1),
        ADD CONSTRAINT chk_luks_volumes_state CHECK (state IN ('current', 'superseded', 'retired', 'shredded')),
        ADD CONSTRAINT chk_luks_volumes_sealed CHECK (
          (state = 'shredded' AND kek_id IS NULL AND wrapped_key IS NULL AND ciphertext IS NULL AND shredded_at IS NOT NULL)
          OR (state <> 'shredded' AND kek_id IS NOT NULL AND wrapped_key IS NOT NULL AND ciphertext IS NOT NULL AND shredded_at IS NULL)),
        ADD CONSTRAINT chk_luks_volumes_noncurrent CHECK (
          state = 'shredded' OR (state = 'current') = (noncurrent_since IS NULL))`);
    await queryRunner.query(`ALTER TABLE luks_volumes DROP CONSTRAINT pk_luks_volumes`);
    await queryRunner.query(`ALTER TABLE luks_volumes ADD CONSTRAINT pk_luks_volumes PRIMARY KEY (miner_hotkey, vm_name, volume, generation)`);
    await queryRunner.query(`CREATE UNIQUE INDEX uq_luks_volumes_current ON luks_volumes (miner_hotkey, vm_name, volume) WHERE state = 'current'`);
    await queryRunner.query(`CREATE UNIQUE INDEX uq_luks_volumes_retired ON luks_volumes (miner_hotkey, vm_name, volume) WHERE state = 'retired'`);
    await queryRunner.query(`CREATE INDEX idx_luks_volumes_noncurrent ON luks_volumes (noncurrent_since) WHERE state IN ('superseded', 'retired')`);

    await queryRunner.query(`
      CREATE TABLE luks_sync_receipts (
        token_hash      text PRIMARY KEY CONSTRAINT fk_luks_sync_receipts_token REFERENCES boot_tokens (token_hash) ON DELETE CASCADE,
        miner_hotkey    text NOT NULL,
        vm_name         text NOT NULL,
        request_sha256  text NOT NULL,
        answer          jsonb NOT NULL,
        replays         integer NOT NULL DEFAULT 0 CONSTRAINT chk_luks_sync_receipts_replays CHECK (replays >= 0),
        created_at      timestamptz NOT NULL
      )`);

    await queryRunner.query(`ALTER TABLE key_release_events DROP CONSTRAINT chk_key_release_events_kind`);
    await queryRunner.query(`
      ALTER TABLE key_release_events
        ADD CONSTRAINT chk_key_release_events_kind CHECK (kind IN ('root', 'sync', 'legacy_get', 'destroy', 'sync_replay', 'replaced', 'restore', 'shred', 'purge')),
        ADD COLUMN detail jsonb NOT NULL DEFAULT '{}'::jsonb`);
    await queryRunner.query(`CREATE INDEX idx_key_release_events_created_at ON key_release_events (created_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The old schema holds one key per volume, sealed with the generation-free AAD. A volume
    // whose key in use is a later generation cannot go back without being lost: refuse.
    const later = (await queryRunner.query(`SELECT count(*)::int AS n FROM luks_volumes WHERE state IN ('current', 'retired') AND generation > 1`)) as {
      n: number;
    }[];
    if ((later[0]?.n ?? 0) > 0) {
      throw new Error(`cannot undo VolumeKeyGenerations: ${later[0].n} volume keys in use are generation 2 or later, which the previous schema cannot open`);
    }
    await queryRunner.query(`DROP INDEX idx_key_release_events_created_at`);
    // Events of kinds the old schema does not know cannot stay under its CHECK.
    await queryRunner.query(`DELETE FROM key_release_events WHERE kind NOT IN ('root', 'sync', 'legacy_get', 'destroy')`);
    await queryRunner.query(`ALTER TABLE key_release_events DROP CONSTRAINT chk_key_release_events_kind, DROP COLUMN detail`);
    await queryRunner.query(
      `ALTER TABLE key_release_events ADD CONSTRAINT chk_key_release_events_kind CHECK (kind IN ('root', 'sync', 'legacy_get', 'destroy'))`,
    );
    await queryRunner.query(`DROP TABLE luks_sync_receipts`);

    // One row per volume: the key in use (current, else retired); the rest are dropped.
    await queryRunner.query(`DELETE FROM luks_volumes WHERE state NOT IN ('current', 'retired')`);
    await queryRunner.query(`DROP INDEX idx_luks_volumes_noncurrent`);
    await queryRunner.query(`DROP INDEX uq_luks_volumes_retired`);
    await queryRunner.query(`DROP INDEX uq_luks_volumes_current`);
    await queryRunner.query(`ALTER TABLE luks_volumes DROP CONSTRAINT pk_luks_volumes`);
    await queryRunner.query(`ALTER TABLE luks_volumes ADD CONSTRAINT pk_luks_volumes PRIMARY KEY (miner_hotkey, vm_name, volume)`);
    await queryRunner.query(`
      ALTER TABLE luks_volumes
        DROP CONSTRAINT chk_luks_volumes_noncurrent,
        DROP CONSTRAINT chk_luks_volumes_sealed,
        DROP CONSTRAINT chk_luks_volumes_state,
        DROP CONSTRAINT chk_luks_volumes_generation,
        DROP COLUMN shredded_at,
        DROP COLUMN noncurrent_since,
        DROP COLUMN client_ip,
        DROP COLUMN attestation_id,
        DROP COLUMN state,
        DROP COLUMN generation,
        ALTER COLUMN kek_id SET NOT NULL,
        ALTER COLUMN wrapped_key SET NOT NULL,
        ALTER COLUMN ciphertext SET NOT NULL`);
  }
}
