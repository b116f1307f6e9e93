/**
 * The PostgreSQL cache of verified PCCS collateral, one bundle per (FMSPC, PCK CA), shared by
 * every replica. Only bundles that verified are written (the service checks first); the write
 * itself refuses to replace a newer bundle with an older one, atomically, so two replicas racing
 * cannot roll the cache back either.
 */
import { Injectable } from '@nestjs/common';
import { Database, Executor } from '../../database/executor';
import type { QuoteCollateral } from '../core/dcap';
import type { PckCaType } from './collateral-source';

export interface CachePlatform {
  fmspc: string;
  ca: PckCaType;
}

/** Intel's order of collateral: higher evaluation number first, then later issue date. */
export interface BundleOrder {
  tcbInfo: { tcbEvaluationDataNumber: number; issueDate: Date };
  qeIdentity: { tcbEvaluationDataNumber: number; issueDate: Date };
}

export interface CachedBundle {
  collateral: QuoteCollateral;
  nextUpdate: Date;
  fetchedAt: Date;
  /** Absent for rows cached before the order was recorded (they order below everything). */
  order?: BundleOrder;
}

interface CacheRow {
  bundle: string;
  next_update: Date;
  fetched_at: Date;
  tcb_evaluation_data_number: string | number | null;
  tcb_issue_date: Date | null;
  qe_evaluation_data_number: string | number | null;
  qe_issue_date: Date | null;
}

/** True when `candidate` is older than `current` in either document: that would be a rollback. */
export function isOlderBundle(candidate: BundleOrder, current: BundleOrder): boolean {
  const older = (a: BundleOrder['tcbInfo'], b: BundleOrder['tcbInfo']) =>
    a.tcbEvaluationDataNumber < b.tcbEvaluationDataNumber ||
    (a.tcbEvaluationDataNumber === b.tcbEvaluationDataNumber && a.issueDate.getTime() < b.issueDate.getTime());
  return older(candidate.tcbInfo, current.tcbInfo) || older(candidate.qeIdentity, current.qeIdentity);
}

@Injectable()
export class CollateralCacheRepository {
  constructor(private readonly db: Database) {}

  async find(platform: CachePlatform, executor: Executor = this.db): Promise<CachedBundle | undefined> {
    const [row] = await executor.rows<CacheRow>(
      `SELECT bundle, next_update, fetched_at, tcb_evaluation_data_number, tcb_issue_date, qe_evaluation_data_number, qe_issue_date
         FROM collateral_cache WHERE fmspc = $1 AND ca = $2`,
      [platform.fmspc, platform.ca],
    );
    if (!row) return undefined;
    const ordered = row.tcb_evaluation_data_number !== null && row.tcb_issue_date && row.qe_evaluation_data_number !== null && row.qe_issue_date;
    return {
      collateral: JSON.parse(row.bundle) as QuoteCollateral,
      nextUpdate: new Date(row.next_update),
      fetchedAt: new Date(row.fetched_at),
      order: ordered
        ? {
            tcbInfo: { tcbEvaluationDataNumber: Number(row.tcb_evaluation_data_number), issueDate: new Date(row.tcb_issue_date!) },
            qeIdentity: { tcbEvaluationDataNumber: Number(row.qe_evaluation_data_number), issueDate: new Date(row.qe_issue_date!) },
          }
        : undefined,
    };
  }

  /**
   * Writes the bundle unless the stored one is newer (by BundleOrder, per document); returns
   * whether it was written. Equal order replaces (same Intel documents, maybe fresher CRLs).
   */
  async store(
    platform: CachePlatform,
    collateral: QuoteCollateral,
    order: BundleOrder,
    nextUpdate: Date,
    fetchedAt: Date,
    executor: Executor = this.db,
  ): Promise<boolean> {
    const rows = await executor.rows<{ fmspc: string }>(
      `INSERT INTO collateral_cache AS c
         (fmspc, ca, bundle, next_update, fetched_at, tcb_evaluation_data_number, tcb_issue_date, qe_evaluation_data_number, qe_issue_date)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (fmspc, ca) DO UPDATE SET
         bundle = EXCLUDED.bundle, next_update = EXCLUDED.next_update, fetched_at = EXCLUDED.fetched_at,
         tcb_evaluation_data_number = EXCLUDED.tcb_evaluation_data_number, tcb_issue_date = EXCLUDED.tcb_issue_date,
         qe_evaluation_data_number = EXCLUDED.qe_evaluation_data_number, qe_issue_date = EXCLUDED.qe_issue_date
       WHERE c.tcb_evaluation_data_number IS NULL OR c.tcb_issue_date IS NULL
          OR c.qe_evaluation_data_number IS NULL OR c.qe_issue_date IS NULL
          OR ((EXCLUDED.tcb_evaluation_data_number, EXCLUDED.tcb_issue_date) >= (c.tcb_evaluation_data_number, c.tcb_issue_date)
              AND (EXCLUDED.qe_evaluation_data_number, EXCLUDED.qe_issue_date) >= (c.qe_evaluation_data_number, c.qe_issue_date))
       RETURNING fmspc`,
      [
        platform.fmspc,
        platform.ca,
        JSON.stringify(collateral),
        nextUpdate,
        fetchedAt,
        order.tcbInfo.tcbEvaluationDataNumber,
        order.tcbInfo.issueDate,
        order.qeIdentity.tcbEvaluationDataNumber,
        order.qeIdentity.issueDate,
      ],
    );
    return rows.length > 0;
  }

  /** Drops the row only if it still holds exactly `collateral` (a newer write is left alone). */
  async remove(platform: CachePlatform, collateral: QuoteCollateral, executor: Executor = this.db): Promise<void> {
    await executor.rows(`DELETE FROM collateral_cache WHERE fmspc = $1 AND ca = $2 AND bundle = $3 RETURNING fmspc`, [
      platform.fmspc,
      platform.ca,
      JSON.stringify(collateral),
    ]);
  }
}
