import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The miners' server registry (servers, their GPUs as nodes) and the audit trail of
 * registration and runtime attestations. `name` can be renamed; `vm_name` is the VM's hostname at
 * registration, the name its volume keys are stored under.
 */
export class CreateServers1763800500000 implements MigrationInterface {
  name = 'CreateServers1763800500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE servers (
        id                   text PRIMARY KEY,
        miner_hotkey         text NOT NULL,
        name                 text NOT NULL,
        vm_name              text NOT NULL,
        host                 text NOT NULL,
        measurement_name     text NULL,
        measurement_version  text NULL,
        created_at           timestamptz NOT NULL,
        updated_at           timestamptz NOT NULL,
        CONSTRAINT uq_servers_miner_name UNIQUE (miner_hotkey, name)
      )`);
    await queryRunner.query(`CREATE INDEX idx_servers_miner ON servers (miner_hotkey, created_at)`);
    await queryRunner.query(`
      CREATE TABLE server_nodes (
        uuid                       text PRIMARY KEY,
        server_id                  text NOT NULL CONSTRAINT fk_server_nodes_server REFERENCES servers (id) ON DELETE CASCADE,
        name                       text NOT NULL,
        memory                     bigint NOT NULL,
        major                      integer NULL,
        minor                      integer NULL,
        processors                 integer NULL,
        sxm                        boolean NULL,
        clock_rate                 double precision NOT NULL,
        max_threads_per_processor  integer NULL,
        concurrent_kernels         boolean NULL,
        ecc                        boolean NULL,
        device_index               integer NOT NULL,
        gpu_identifier             text NOT NULL,
        verification_host          text NOT NULL,
        verification_port          integer NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX idx_server_nodes_server ON server_nodes (server_id)`);
    await queryRunner.query(`
      CREATE TABLE server_attestations (
        id                   uuid PRIMARY KEY,
        created_at           timestamptz NOT NULL,
        kind                 text NOT NULL CONSTRAINT chk_server_attestations_kind CHECK (kind IN ('registration', 'runtime')),
        server_id            text NULL,
        miner_hotkey         text NOT NULL,
        vm_name              text NULL,
        client_ip            text NULL,
        quote_sha256         text NULL,
        outcome              text NOT NULL CONSTRAINT chk_server_attestations_outcome CHECK (outcome IN ('verified', 'failed')),
        error_code           text NULL,
        measurement_name     text NULL,
        measurement_version  text NULL,
        tcb_status           text NULL,
        advisory_ids         jsonb NOT NULL DEFAULT '[]'::jsonb,
        verdict              jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await queryRunner.query(`CREATE INDEX idx_server_attestations_server ON server_attestations (server_id, created_at)`);
    await queryRunner.query(`CREATE INDEX idx_server_attestations_created_at ON server_attestations (created_at)`);
    await queryRunner.query(`CREATE INDEX idx_server_attestations_miner ON server_attestations (miner_hotkey, created_at)`);
    await queryRunner.query(`CREATE INDEX idx_boot_attestations_miner ON boot_attestations (miner_hotkey, created_at)`);
    // Server ids are the miners' own strings, not UUIDs: runtime nonces are bound to them.
    await queryRunner.query(`ALTER TABLE nonces ALTER COLUMN server_id TYPE text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM nonces WHERE server_id IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE nonces ALTER COLUMN server_id TYPE uuid USING server_id::uuid`);
    await queryRunner.query(`DROP INDEX idx_boot_attestations_miner`);
    await queryRunner.query(`DROP TABLE server_attestations`);
    await queryRunner.query(`DROP TABLE server_nodes`);
    await queryRunner.query(`DROP TABLE servers`);
  }
}
