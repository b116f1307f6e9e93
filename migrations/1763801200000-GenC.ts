import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The Chutes VM ≥ 1.3 ("gen C") protocol (DESIGN.md "Chutes VM ≥ 1.3 protocol"):
 * - nonces: a boot nonce may be bound to a miner hotkey (`GET /servers/nonce?miner_hotkey=`); a
 *   `quote` nonce (the boot answer's `luks_quote_nonce`) is bound to (hotkey, vm_name) and the boot
 *   attestation that issued it.
 * - luks_volumes: generations issued as `next` (root_next, a volume's `next`) start `pending`; a
 *   confirm makes them `current` or `discarded`; a pending one never confirmed is `abandoned` when
 *   the next boot replaces it. `parent_generation` is the generation the VM was handed as its key
 *   when this one was issued (0: the measurement set's root passphrase), `confirmed_at` when a
 *   confirm for that issue arrived (proof the key handed out with it opened the disk). Nothing is
 *   deleted; discarded and abandoned generations age out like superseded ones.
 * - confirm_nonces: root and storage confirms have separate nonces; a repeated identical confirm
 *   is answered again from the stored answer (a lost answer must not make a VM roll back a key).
 * - vm_boot_states: per VM, what its latest boot left: the sealed per-boot vm_auth sr25519 seed and
 *   its ss58, the VM root CA recorded at /provision, the matched set.
 * - boot_attestations.step: the gen-C steps after the boot (`provision`, `confirm`) are audited in
 *   the same trail as the boot that started them.
 */
export class GenC1763801200000 implements MigrationInterface {
  name = 'GenC1763801200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE nonces DROP CONSTRAINT chk_nonces_purpose`);
    await queryRunner.query(`
      ALTER TABLE nonces
        ADD CONSTRAINT chk_nonces_purpose CHECK (purpose IN ('boot', 'runtime', 'quote')),
        ADD COLUMN miner_hotkey    text NULL,
        ADD COLUMN vm_name         text NULL,
        ADD COLUMN attestation_id  uuid NULL`);

    await queryRunner.query(`ALTER TABLE luks_volumes DROP CONSTRAINT chk_luks_volumes_state`);
    await queryRunner.query(`ALTER TABLE luks_volumes DROP CONSTRAINT chk_luks_volumes_noncurrent`);
    await queryRunner.query(`
      ALTER TABLE luks_volumes
        ADD COLUMN parent_generation  integer NULL CONSTRAINT chk_luks_volumes_parent CHECK (parent_generation >= 0),
        ADD COLUMN confirmed_at       timestamptz NULL,
        ADD CONSTRAINT chk_luks_volumes_state CHECK (state IN ('current', 'pending', 'superseded', 'retired', 'discarded', 'abandoned', 'shredded')),
        ADD CONSTRAINT chk_luks_volumes_noncurrent CHECK (
          state = 'shredded' OR (state IN ('current', 'pending')) = (noncurrent_since IS NULL))`);
    await queryRunner.query(`CREATE UNIQUE INDEX uq_luks_volumes_pending ON luks_volumes (miner_hotkey, vm_name, volume) WHERE state = 'pending'`);
    await queryRunner.query(`DROP INDEX idx_luks_volumes_noncurrent`);
    await queryRunner.query(
      `CREATE INDEX idx_luks_volumes_noncurrent ON luks_volumes (noncurrent_since) WHERE state IN ('superseded', 'retired', 'discarded', 'abandoned')`,
    );

    await queryRunner.query(`ALTER TABLE key_release_events DROP CONSTRAINT chk_key_release_events_kind`);
    await queryRunner.query(`
      ALTER TABLE key_release_events ADD CONSTRAINT chk_key_release_events_kind CHECK (kind IN (
        'root', 'sync', 'legacy_get', 'destroy', 'sync_replay', 'replaced', 'restore', 'shred', 'purge',
        'provision', 'promote', 'discard', 'abandon', 'k3s', 'confirm_replay'))`);

    await queryRunner.query(`
      ALTER TABLE boot_attestations
        ADD COLUMN step text NOT NULL DEFAULT 'boot' CONSTRAINT chk_boot_attestations_step CHECK (step IN ('boot', 'provision', 'confirm'))`);

    await queryRunner.query(`
      CREATE TABLE confirm_nonces (
        nonce_hash      text PRIMARY KEY,
        miner_hotkey    text NOT NULL,
        vm_name         text NOT NULL,
        scope           text NOT NULL CONSTRAINT chk_confirm_nonces_scope CHECK (scope IN ('root', 'storage')),
        attestation_id  uuid NOT NULL,
        created_at      timestamptz NOT NULL,
        expires_at      timestamptz NOT NULL,
        used_at         timestamptz NULL,
        request_sha256  text NULL,
        answer          jsonb NULL,
        replays         integer NOT NULL DEFAULT 0 CONSTRAINT chk_confirm_nonces_replays CHECK (replays >= 0),
        CONSTRAINT chk_confirm_nonces_used CHECK ((used_at IS NULL) = (request_sha256 IS NULL) AND (used_at IS NULL) = (answer IS NULL))
      )`);
    await queryRunner.query(`CREATE INDEX idx_confirm_nonces_expires_at ON confirm_nonces (expires_at)`);

    await queryRunner.query(`
      CREATE TABLE vm_boot_states (
        miner_hotkey         text NOT NULL,
        vm_name              text NOT NULL,
        attestation_id       uuid NOT NULL,
        measurement_set_id   uuid NULL,
        measurement_version  text NULL,
        client_ip            text NULL,
        booted_at            timestamptz NOT NULL,
        vm_auth_ss58         text NULL,
        vm_auth_kek_id       text NULL,
        vm_auth_wrapped_key  bytea NULL,
        vm_auth_ciphertext   bytea NULL,
        root_ca_pem          text NULL,
        provisioned_at       timestamptz NULL,
        CONSTRAINT pk_vm_boot_states PRIMARY KEY (miner_hotkey, vm_name),
        CONSTRAINT chk_vm_boot_states_vm_auth CHECK (
          (vm_auth_ss58 IS NULL AND vm_auth_kek_id IS NULL AND vm_auth_wrapped_key IS NULL AND vm_auth_ciphertext IS NULL)
          OR (vm_auth_ss58 IS NOT NULL AND vm_auth_kek_id IS NOT NULL AND vm_auth_wrapped_key IS NOT NULL AND vm_auth_ciphertext IS NOT NULL))
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Pending, discarded and abandoned generations have no place in the previous schema: refuse
    // rather than lose a key a VM may be using.
    const rows = (await queryRunner.query(
      `SELECT count(*)::int AS n FROM luks_volumes WHERE state IN ('pending', 'discarded', 'abandoned') OR volume IN ('root', 'k3s')`,
    )) as { n: number }[];
    if ((rows[0]?.n ?? 0) > 0) throw new Error(`cannot undo GenC: ${rows[0].n} gen-C key generations (root, k3s, pending, discarded, abandoned) exist`);
    await queryRunner.query(`DROP TABLE vm_boot_states`);
    await queryRunner.query(`DROP TABLE confirm_nonces`);
    await queryRunner.query(
      `DELETE FROM boot_attestations WHERE step <> 'boot' AND NOT EXISTS (SELECT 1 FROM boot_tokens t WHERE t.attestation_id = boot_attestations.id)`,
    );
    await queryRunner.query(`ALTER TABLE boot_attestations DROP COLUMN step`);
    await queryRunner.query(`DELETE FROM key_release_events WHERE kind IN ('provision', 'promote', 'discard', 'abandon', 'k3s', 'confirm_replay')`);
    await queryRunner.query(`ALTER TABLE key_release_events DROP CONSTRAINT chk_key_release_events_kind`);
    await queryRunner.query(
      `ALTER TABLE key_release_events ADD CONSTRAINT chk_key_release_events_kind CHECK (kind IN ('root', 'sync', 'legacy_get', 'destroy', 'sync_replay', 'replaced', 'restore', 'shred', 'purge'))`,
    );
    await queryRunner.query(`DROP INDEX idx_luks_volumes_noncurrent`);
    await queryRunner.query(`CREATE INDEX idx_luks_volumes_noncurrent ON luks_volumes (noncurrent_since) WHERE state IN ('superseded', 'retired')`);
    await queryRunner.query(`DROP INDEX uq_luks_volumes_pending`);
    await queryRunner.query(`ALTER TABLE luks_volumes DROP CONSTRAINT chk_luks_volumes_state`);
    await queryRunner.query(`ALTER TABLE luks_volumes DROP CONSTRAINT chk_luks_volumes_noncurrent`);
    await queryRunner.query(`ALTER TABLE luks_volumes DROP COLUMN parent_generation, DROP COLUMN confirmed_at`);
    await queryRunner.query(`
      ALTER TABLE luks_volumes
        ADD CONSTRAINT chk_luks_volumes_state CHECK (state IN ('current', 'superseded', 'retired', 'shredded')),
        ADD CONSTRAINT chk_luks_volumes_noncurrent CHECK (state = 'shredded' OR (state = 'current') = (noncurrent_since IS NULL))`);
    await queryRunner.query(`DELETE FROM nonces WHERE purpose = 'quote'`);
    await queryRunner.query(`ALTER TABLE nonces DROP CONSTRAINT chk_nonces_purpose`);
    await queryRunner.query(`ALTER TABLE nonces DROP COLUMN miner_hotkey, DROP COLUMN vm_name, DROP COLUMN attestation_id`);
    await queryRunner.query(`ALTER TABLE nonces ADD CONSTRAINT chk_nonces_purpose CHECK (purpose IN ('boot', 'runtime'))`);
  }
}
