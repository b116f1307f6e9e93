/**
 * The audit row every attestation attempt leaves (boot_attestations, server_attestations):
 * who, from where, which quote (by hash), what matched, and the per-check verdict — never a
 * key, a token or a quote itself.
 */
import { randomUUID } from 'node:crypto';
import type { AppraisalRecord } from './quote-appraisal.service';

export interface AttestationAttempt extends AppraisalRecord {
  createdAt: Date;
  minerHotkey: string | null;
  vmName: string | null;
  clientIp: string | null;
  quoteSha256: string | null;
  outcome: 'verified' | 'failed';
  errorCode: string | null;
}

interface QueryExecutor {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

export type AttestationTable = 'boot_attestations' | 'server_attestations';

/** Inserts one audit row (plus table-specific columns); returns its id. */
export async function insertAttestationRow(executor: QueryExecutor, table: AttestationTable, attempt: AttestationAttempt, extra: Record<string, unknown> = {}): Promise<string> {
  const id = randomUUID();
  const columns: Record<string, unknown> = {
    id,
    created_at: attempt.createdAt,
    miner_hotkey: attempt.minerHotkey,
    vm_name: attempt.vmName,
    client_ip: attempt.clientIp,
    quote_sha256: attempt.quoteSha256,
    outcome: attempt.outcome,
    error_code: attempt.errorCode,
    measurement_name: attempt.measurementName,
    measurement_version: attempt.measurementVersion,
    tcb_status: attempt.tcbStatus,
    advisory_ids: JSON.stringify(attempt.advisoryIds),
    verdict: JSON.stringify(attempt.verdict),
    ...extra,
  };
  const names = Object.keys(columns);
  await executor.query(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(columns));
  return id;
}
