import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for the admin audit trail at fleet scale (GET /admin/attestations, `npm run bench:audit`:
 * 1,000,000 boot attempts over 10,000 VMs). Every page is `… WHERE <filters> AND (created_at, id) <
 * cursor ORDER BY created_at DESC, id DESC LIMIT n`, so each filter gets an index that ends in
 * (created_at, id): the cursor is then an index bound and a page reads about n index entries
 * however deep it is. The indexes they replace lacked `id` (every page re-read the rows before
 * the cursor) or could not serve a `vm_name` filter without the hotkey (a scan of the table).
 * The retention purge (AUDIT_RETENTION_DAYS) deletes by created_at, which the first index serves.
 */
export class AuditIndexes1763801100000 implements MigrationInterface {
  name = 'AuditIndexes1763801100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const statement of [
      // boot_attestations
      'DROP INDEX idx_boot_attestations_created_at',
      'CREATE INDEX idx_boot_attestations_created_at ON boot_attestations (created_at, id)',
      'DROP INDEX idx_boot_attestations_miner',
      'CREATE INDEX idx_boot_attestations_miner ON boot_attestations (miner_hotkey, created_at, id)',
      'DROP INDEX idx_boot_attestations_vm',
      'CREATE INDEX idx_boot_attestations_vm ON boot_attestations (miner_hotkey, vm_name, created_at, id)',
      'CREATE INDEX idx_boot_attestations_vm_name ON boot_attestations (vm_name, created_at, id)',
      // server_attestations
      'DROP INDEX idx_server_attestations_created_at',
      'CREATE INDEX idx_server_attestations_created_at ON server_attestations (created_at, id)',
      'DROP INDEX idx_server_attestations_miner',
      'CREATE INDEX idx_server_attestations_miner ON server_attestations (miner_hotkey, created_at, id)',
      'CREATE INDEX idx_server_attestations_vm_name ON server_attestations (vm_name, created_at, id)',
      // key_release_events: the retention purge deletes by age, through the
      // idx_key_release_events_created_at that VolumeKeyGenerations already made.
    ]) {
      await queryRunner.query(statement);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const statement of [
      'DROP INDEX idx_server_attestations_vm_name',
      'DROP INDEX idx_server_attestations_miner',
      'CREATE INDEX idx_server_attestations_miner ON server_attestations (miner_hotkey, created_at)',
      'DROP INDEX idx_server_attestations_created_at',
      'CREATE INDEX idx_server_attestations_created_at ON server_attestations (created_at)',
      'DROP INDEX idx_boot_attestations_vm_name',
      'DROP INDEX idx_boot_attestations_vm',
      'CREATE INDEX idx_boot_attestations_vm ON boot_attestations (miner_hotkey, vm_name, created_at)',
      'DROP INDEX idx_boot_attestations_miner',
      'CREATE INDEX idx_boot_attestations_miner ON boot_attestations (miner_hotkey, created_at)',
      'DROP INDEX idx_boot_attestations_created_at',
      'CREATE INDEX idx_boot_attestations_created_at ON boot_attestations (created_at)',
    ]) {
      await queryRunner.query(statement);
    }
  }
}
