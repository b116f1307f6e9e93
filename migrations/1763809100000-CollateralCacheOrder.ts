import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What orders two collateral bundles of one platform (Intel's tcbEvaluationDataNumber and issue
 * date of the TCB info and of the QE identity), so the cache can refuse a rollback in the same
 * statement that writes. NULL (rows cached before this) orders below everything.
 */
export class CollateralCacheOrder1763809100000 implements MigrationInterface {
  name = 'CollateralCacheOrder1763809100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE collateral_cache
        ADD COLUMN tcb_evaluation_data_number bigint,
        ADD COLUMN tcb_issue_date timestamptz,
        ADD COLUMN qe_evaluation_data_number bigint,
        ADD COLUMN qe_issue_date timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE collateral_cache
        DROP COLUMN tcb_evaluation_data_number,
        DROP COLUMN tcb_issue_date,
        DROP COLUMN qe_evaluation_data_number,
        DROP COLUMN qe_issue_date`);
  }
}
