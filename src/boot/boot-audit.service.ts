/**
 * The boot_attestations audit trail: one row per attempt, passed or failed, with who, where
 * from, which quote (by hash), what matched, and a per-check verdict — never a key or a token.
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface BootVerdict {
  [check: string]: unknown;
}

export interface BootAttempt {
  id?: string;
  createdAt: Date;
  minerHotkey: string | null;
  vmName: string | null;
  clientIp: string;
  quoteSha256: string | null;
  outcome: 'verified' | 'failed';
  errorCode: string | null;
  measurementName: string | null;
  measurementVersion: string | null;
  tcbStatus: string | null;
  advisoryIds: string[];
  verdict: BootVerdict;
}

@Injectable()
export class BootAuditService {
  constructor(private readonly dataSource: DataSource) {}

  /** Writes the row (in `manager`'s transaction when given); returns its id. */
  async record(attempt: BootAttempt, manager: EntityManager = this.dataSource.manager): Promise<string> {
    const id = attempt.id ?? randomUUID();
    await manager.query(
      `INSERT INTO boot_attestations (id, created_at, miner_hotkey, vm_name, client_ip, quote_sha256, outcome, error_code,
         measurement_name, measurement_version, tcb_status, advisory_ids, verdict)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        id,
        attempt.createdAt,
        attempt.minerHotkey,
        attempt.vmName,
        attempt.clientIp,
        attempt.quoteSha256,
        attempt.outcome,
        attempt.errorCode,
        attempt.measurementName,
        attempt.measurementVersion,
        attempt.tcbStatus,
        JSON.stringify(attempt.advisoryIds),
        JSON.stringify(attempt.verdict),
      ],
    );
    return id;
  }
}
