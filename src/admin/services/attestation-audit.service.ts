/**
 * The attestation audit trail for admins: boot_attestations (kind `boot`) and server_attestations
 * (kinds `registration` and `runtime`, as stored), filtered, merged newest first, and paged by
 * keyset on (created_at, id) so pages stay stable while new attempts are written.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError, ErrorCode } from '../../common/errors';
import { canonicalSs58 } from '../../common/validation/ss58';
import { queryRows } from '../../database/sql';
import { AUDIT_PAGE_DEFAULT, AttestationAuditQuery } from '../dto/attestation-audit.query';
import { AttestationAuditItem, AttestationAuditPage } from '../dto/attestation-audit.response';

interface AuditRow {
  id: string;
  kind: string;
  created_at: Date | string;
  /** created_at to the microsecond, UTC, for the cursor (a JS Date keeps only milliseconds). */
  created_key: string;
  miner_hotkey: string | null;
  vm_name: string | null;
  server_id: string | null;
  client_ip: string | null;
  outcome: string;
  error_code: string | null;
  measurement_name: string | null;
  measurement_version: string | null;
  tcb_status: string | null;
  advisory_ids: unknown;
  verdict: unknown;
}

interface Cursor {
  createdAt: string;
  id: string;
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const invalid = () => new DomainError(ErrorCode.VALIDATION_FAILED, 'cursor must be a next_cursor value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid();
  const [createdAt, id] = parsed as unknown[];
  if (typeof createdAt !== 'string' || !CURSOR_TIME.test(createdAt) || typeof id !== 'string' || !UUID.test(id)) throw invalid();
  return { createdAt, id };
}

function json<T>(value: unknown, fallback: T): T {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as T;
    } catch {
      return fallback;
    }
  }
  return (value ?? fallback) as T;
}

function toItem(row: AuditRow): AttestationAuditItem {
  return {
    id: row.id,
    kind: row.kind,
    created_at: new Date(row.created_at).toISOString(),
    miner_hotkey: row.miner_hotkey,
    vm_name: row.vm_name,
    server_id: row.server_id,
    client_ip: row.client_ip,
    outcome: row.outcome,
    error_code: row.error_code,
    measurement_name: row.measurement_name,
    measurement_version: row.measurement_version,
    tcb_status: row.tcb_status,
    advisory_ids: json<string[]>(row.advisory_ids, []),
    verdict: json<Record<string, unknown>>(row.verdict, {}),
  };
}

const COLUMNS = `id, created_at, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key,
  miner_hotkey, vm_name, client_ip, outcome, error_code, measurement_name, measurement_version, tcb_status, advisory_ids, verdict`;

@Injectable()
export class AttestationAuditService {
  constructor(private readonly dataSource: DataSource) {}

  async page(query: AttestationAuditQuery): Promise<AttestationAuditPage> {
    const limit = query.limit ?? AUDIT_PAGE_DEFAULT;
    const parameters: unknown[] = [];
    const conditions: string[] = [];
    const bind = (value: unknown) => {
      parameters.push(value);
      return `$${parameters.length}`;
    };
    if (query.hotkey !== undefined) conditions.push(`miner_hotkey = ${bind(canonicalSs58(query.hotkey))}`);
    if (query.vm_name !== undefined) conditions.push(`vm_name = ${bind(query.vm_name)}`);
    if (query.since !== undefined) {
      const since = new Date(query.since);
      if (Number.isNaN(since.getTime())) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'since must be an ISO-8601 date-time');
      conditions.push(`created_at >= ${bind(since)}`);
    }
    if (query.cursor !== undefined) {
      const cursor = decodeCursor(query.cursor);
      conditions.push(`(created_at, id) < (${bind(cursor.createdAt)}::timestamptz, ${bind(cursor.id)}::uuid)`);
    }
    // One row more than the page tells whether another page follows.
    const take = bind(limit + 1);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    // Each branch is ordered and limited on its own (its created_at index serves it), then merged.
    const branches: string[] = [];
    if (query.kind !== 'runtime') {
      branches.push(`(SELECT 'boot'::text AS kind, NULL::text AS server_id, ${COLUMNS} FROM boot_attestations ${where} ORDER BY created_at DESC, id DESC LIMIT ${take})`);
    }
    if (query.kind !== 'boot') {
      branches.push(`(SELECT kind, server_id, ${COLUMNS} FROM server_attestations ${where} ORDER BY created_at DESC, id DESC LIMIT ${take})`);
    }
    const rows = await queryRows<AuditRow>(
      this.dataSource,
      `SELECT * FROM (${branches.join(' UNION ALL ')}) AS attempts ORDER BY created_at DESC, id DESC LIMIT ${take}`,
      parameters,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toItem),
      next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.created_key, id: last.id }) : null,
    };
  }
}
