/** server_attestations: one row per registration or runtime attestation attempt, with why. */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { AppraisalRecord } from '../attestation/quote-appraisal.service';

export interface ServerAttempt extends AppraisalRecord {
  kind: 'registration' | 'runtime';
  createdAt: Date;
  serverId: string | null;
  minerHotkey: string;
  vmName: string | null;
  clientIp: string | null;
  quoteSha256: string | null;
  outcome: 'verified' | 'failed';
  errorCode: string | null;
}

@Injectable()
export class ServerAuditService {
  constructor(private readonly dataSource: DataSource) {}

  async record(attempt: ServerAttempt, manager: EntityManager = this.dataSource.manager): Promise<string> {
    const id = randomUUID();
    await manager.query(
      `INSERT INTO server_attestations (id, created_at, kind, server_id, miner_hotkey, vm_name, client_ip, quote_sha256, outcome, error_code,
         measurement_name, measurement_version, tcb_status, advisory_ids, verdict)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        id,
        attempt.createdAt,
        attempt.kind,
        attempt.serverId,
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
