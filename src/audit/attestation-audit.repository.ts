/**
 * The attestation audit tables: boot_attestations (boot attempts) and server_attestations
 * (registration and runtime attempts). One row per attempt, passed or failed: who, from where,
 * which quote (by hash), what matched, and the per-check verdict — never a key, a token or a
 * quote itself. The only SQL that writes or reads these tables.
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Database, Executor } from '../database/executor';
import type { AppraisalRecord } from '../attestation/quote-appraisal.service';

/**
 * `boot` rows and the gen-C steps that follow a boot (`provision`, `confirm`) live in
 * boot_attestations (column `step`), registration and runtime in server_attestations.
 */
export type AttestationKind = 'boot' | 'provision' | 'confirm' | 'registration' | 'runtime';

const BOOT_TABLE_KINDS: readonly AttestationKind[] = ['boot', 'provision', 'confirm'];
export type AttestationOutcome = 'verified' | 'failed';

/** One attempt as written. `serverId` is stored for server attempts only. */
export interface AttestationAttempt extends AppraisalRecord {
  kind: AttestationKind;
  createdAt: Date;
  serverId: string | null;
  minerHotkey: string | null;
  vmName: string | null;
  clientIp: string | null;
  quoteSha256: string | null;
  outcome: AttestationOutcome;
  errorCode: string | null;
}

/** One attempt as read back (the admin audit trail). */
export interface AttestationAuditEntry {
  id: string;
  kind: AttestationKind;
  createdAt: Date;
  minerHotkey: string | null;
  vmName: string | null;
  /** null for boot attempts. */
  serverId: string | null;
  clientIp: string | null;
  outcome: AttestationOutcome;
  errorCode: string | null;
  measurementName: string | null;
  measurementVersion: string | null;
  tcbStatus: string | null;
  advisoryIds: string[];
  verdict: Record<string, unknown>;
}

/**
 * A position in the trail, newest first: rows strictly older than (createdAt, id) follow it.
 * `createdAt` is the microsecond UTC text (`YYYY-MM-DDTHH:MI:SS.ffffffZ`): a JS Date keeps
 * only milliseconds, and rows written within one millisecond must not be skipped or repeated.
 */
export interface AuditPosition {
  createdAt: string;
  id: string;
}

/** The filters every audit trail shares: who, which VM, since when, and the keyset position. */
export interface TrailFilter {
  minerHotkey?: string;
  vmName?: string;
  since?: Date;
  after?: AuditPosition;
}

export interface AttestationAuditFilter extends TrailFilter {
  /** `boot`: boot_attestations only; `server`: server_attestations only (both kinds); both when absent. */
  table?: 'boot' | 'server';
  limit: number;
}

export interface AttestationAuditPage {
  entries: AttestationAuditEntry[];
  /** Where the next page starts; null when this is the last one. */
  next: AuditPosition | null;
}

/** The attempt a server's attestation status shows. */
export interface AttestationSummary {
  id: string;
  createdAt: Date;
  outcome: AttestationOutcome;
  errorCode: string | null;
  measurementVersion: string | null;
}

/** A measurement set's identity, as the audit rows record it. */
export interface SetIdentity {
  name: string;
  version: string;
}

/** A VM that booted one of some sets (for the impact of retiring them). */
export interface VmBootOnSet {
  minerHotkey: string;
  vmName: string;
  measurementName: string;
  measurementVersion: string;
  /** Its newest verified boot on that set. */
  lastBootAt: Date;
  /** Whether a verified boot on another set followed it (the VM has moved on). */
  bootedOtherSetSince: boolean;
}

interface AuditRow {
  id: string;
  kind: AttestationKind;
  created_at: Date;
  created_key: string;
  miner_hotkey: string | null;
  vm_name: string | null;
  server_id: string | null;
  client_ip: string | null;
  outcome: AttestationOutcome;
  error_code: string | null;
  measurement_name: string | null;
  measurement_version: string | null;
  tcb_status: string | null;
  advisory_ids: string[];
  verdict: Record<string, unknown>;
}

interface SummaryRow {
  id: string;
  created_at: Date;
  outcome: AttestationOutcome;
  error_code: string | null;
  measurement_version: string | null;
}

const COLUMNS = `id, created_at, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key,
  miner_hotkey, vm_name, client_ip, outcome, error_code, measurement_name, measurement_version, tcb_status, advisory_ids, verdict`;

function toEntry(row: AuditRow): AttestationAuditEntry {
  return {
    id: row.id,
    kind: row.kind,
    createdAt: row.created_at,
    minerHotkey: row.miner_hotkey,
    vmName: row.vm_name,
    serverId: row.server_id,
    clientIp: row.client_ip,
    outcome: row.outcome,
    errorCode: row.error_code,
    measurementName: row.measurement_name,
    measurementVersion: row.measurement_version,
    tcbStatus: row.tcb_status,
    advisoryIds: row.advisory_ids,
    verdict: row.verdict,
  };
}

/** The WHERE conditions of a TrailFilter (both trails' tables have these columns), values bound through `bind`. */
export function trailConditions(filter: TrailFilter, bind: (value: unknown) => string): string[] {
  const conditions: string[] = [];
  if (filter.minerHotkey !== undefined) conditions.push(`miner_hotkey = ${bind(filter.minerHotkey)}`);
  if (filter.vmName !== undefined) conditions.push(`vm_name = ${bind(filter.vmName)}`);
  if (filter.since !== undefined) conditions.push(`created_at >= ${bind(filter.since)}`);
  if (filter.after !== undefined) conditions.push(`(created_at, id) < (${bind(filter.after.createdAt)}::timestamptz, ${bind(filter.after.id)}::uuid)`);
  return conditions;
}

@Injectable()
export class AttestationAuditRepository {
  constructor(private readonly db: Database) {}

  /** Writes the attempt's row (with `executor` when it must commit with a release); returns its id. */
  async insert(attempt: AttestationAttempt, executor: Executor = this.db): Promise<string> {
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
    };
    const bootTable = BOOT_TABLE_KINDS.includes(attempt.kind);
    Object.assign(columns, bootTable ? { step: attempt.kind } : { kind: attempt.kind, server_id: attempt.serverId });
    const table = bootTable ? 'boot_attestations' : 'server_attestations';
    const names = Object.keys(columns);
    await executor.rows(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(columns));
    return id;
  }

  /**
   * The attempt a server's attestation status reports: its newest runtime attempt (passed or
   * failed) or its verified registration, whichever is newer. A registration checks fresh
   * evidence exactly as a runtime attestation does, so it counts as the first verified one (the
   * Chutes API does the same); failed registrations are not the server's (it was not stored).
   */
  async latestStatusForServer(serverId: string): Promise<AttestationSummary | null> {
    const rows = await this.db.rows<SummaryRow>(
      `SELECT id, created_at, outcome, error_code, measurement_version FROM server_attestations
        WHERE server_id = $1 AND (kind = 'runtime' OR (kind = 'registration' AND outcome = 'verified'))
        ORDER BY created_at DESC, id DESC LIMIT 1`,
      [serverId],
    );
    const row = rows[0];
    return row ? { id: row.id, createdAt: row.created_at, outcome: row.outcome, errorCode: row.error_code, measurementVersion: row.measurement_version } : null;
  }

  /**
   * The VMs with a verified boot on one of `sets` since `since`, newest first: one row per VM and
   * set, with its newest such boot and whether a verified boot on another set came after it.
   */
  async verifiedBootsOnSets(sets: SetIdentity[], since: Date): Promise<VmBootOnSet[]> {
    if (sets.length === 0) return [];
    const rows = await this.db.rows<{
      miner_hotkey: string;
      vm_name: string;
      measurement_name: string;
      measurement_version: string;
      last_boot_at: Date;
      moved_on: boolean;
    }>(
      `SELECT b.miner_hotkey, b.vm_name, b.measurement_name, b.measurement_version, max(b.created_at) AS last_boot_at,
              EXISTS (SELECT 1 FROM boot_attestations n
                       WHERE n.miner_hotkey = b.miner_hotkey AND n.vm_name = b.vm_name AND n.outcome = 'verified'
                         AND n.created_at > max(b.created_at)
                         AND (n.measurement_name, n.measurement_version) IS DISTINCT FROM (b.measurement_name, b.measurement_version)) AS moved_on
         FROM boot_attestations b
        WHERE b.outcome = 'verified' AND b.created_at >= $1 AND b.miner_hotkey IS NOT NULL AND b.vm_name IS NOT NULL
          AND (b.measurement_name, b.measurement_version) IN (SELECT * FROM unnest($2::text[], $3::text[]))
        GROUP BY b.miner_hotkey, b.vm_name, b.measurement_name, b.measurement_version
        ORDER BY last_boot_at DESC, b.miner_hotkey, b.vm_name`,
      [since, sets.map((set) => set.name), sets.map((set) => set.version)],
    );
    return rows.map((row) => ({
      minerHotkey: row.miner_hotkey,
      vmName: row.vm_name,
      measurementName: row.measurement_name,
      measurementVersion: row.measurement_version,
      lastBootAt: row.last_boot_at,
      bootedOtherSetSince: row.moved_on,
    }));
  }

  /** The trail newest first, merged across both tables, paged by keyset on (created_at, id). */
  async page(filter: AttestationAuditFilter): Promise<AttestationAuditPage> {
    const parameters: unknown[] = [];
    const conditions: string[] = [];
    const bind = (value: unknown) => {
      parameters.push(value);
      return `$${parameters.length}`;
    };
    conditions.push(...trailConditions(filter, bind));
    // One row more than the page tells whether another page follows.
    const take = bind(filter.limit + 1);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    // Each branch is ordered and limited on its own (its created_at index serves it), then merged.
    const branches: string[] = [];
    if (filter.table !== 'server') {
      branches.push(
        `(SELECT step AS kind, NULL::text AS server_id, ${COLUMNS} FROM boot_attestations ${where} ORDER BY created_at DESC, id DESC LIMIT ${take})`,
      );
    }
    if (filter.table !== 'boot') {
      branches.push(`(SELECT kind, server_id, ${COLUMNS} FROM server_attestations ${where} ORDER BY created_at DESC, id DESC LIMIT ${take})`);
    }
    const rows = await this.db.rows<AuditRow>(
      `SELECT * FROM (${branches.join(' UNION ALL ')}) AS attempts ORDER BY created_at DESC, id DESC LIMIT ${take}`,
      parameters,
    );
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      entries: page.map(toEntry),
      next: rows.length > filter.limit && last ? { createdAt: last.created_key, id: last.id } : null,
    };
  }

  /**
   * Deletes up to `batch` boot attempts older than `before`, oldest first (AUDIT_RETENTION_DAYS);
   * returns how many. An attempt a boot token still points to (its foreign key) waits until the
   * token's own purge has removed it.
   */
  async purgeBootBefore(before: Date, batch: number): Promise<number> {
    const rows = await this.db.rows<{ id: string }>(
      `DELETE FROM boot_attestations WHERE id IN (
         SELECT b.id FROM boot_attestations b
          WHERE b.created_at < $1 AND NOT EXISTS (SELECT 1 FROM boot_tokens t WHERE t.attestation_id = b.id)
          ORDER BY b.created_at LIMIT $2)
       RETURNING id`,
      [before, batch],
    );
    return rows.length;
  }

  /**
   * Deletes up to `batch` registration and runtime attempts older than `before`, oldest first,
   * except each server's newest attempt of each kind, which its status shows however old it is.
   */
  async purgeServerBefore(before: Date, batch: number): Promise<number> {
    const rows = await this.db.rows<{ id: string }>(
      `DELETE FROM server_attestations WHERE id IN (
         SELECT s.id FROM server_attestations s
          WHERE s.created_at < $1
            AND (s.server_id IS NULL OR EXISTS (
                  SELECT 1 FROM server_attestations n
                   WHERE n.server_id = s.server_id AND n.kind = s.kind AND (n.created_at, n.id) > (s.created_at, s.id)))
          ORDER BY s.created_at LIMIT $2)
       RETURNING id`,
      [before, batch],
    );
    return rows.length;
  }
}
