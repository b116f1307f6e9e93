/**
 * The attestation audit trail for admins: boot_attestations (kind `boot`, and the gen-C steps after
 * a boot: `provision`, `confirm`; `?kind=boot` lists all three) and server_attestations
 * (kinds `registration` and `runtime`, as stored), filtered, merged newest first, and paged by
 * keyset on (created_at, id) so pages stay stable while new attempts are written. The reading is
 * the audit repository's; this turns the query into its filter and its entries into the response.
 */
import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../../common/errors';
import { canonicalSs58 } from '../../common/validation/ss58';
import { AttestationAuditEntry, AttestationAuditRepository, AuditPosition, TrailFilter } from '../../audit/attestation-audit.repository';
import { AUDIT_PAGE_DEFAULT, AttestationAuditQuery, AuditTrailQuery } from '../dto/attestation-audit.query';
import { AttestationAuditItem, AttestationAuditPage } from '../dto/attestation-audit.response';

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(cursor: AuditPosition): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): AuditPosition {
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

/** The filters and paging every audit trail shares, from its query (422 for a `since` that is no instant). */
export function trailFilter(query: AuditTrailQuery): TrailFilter & { limit: number } {
  let since: Date | undefined;
  if (query.since !== undefined) {
    since = new Date(query.since);
    if (Number.isNaN(since.getTime())) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'since must be an ISO-8601 date-time');
  }
  return {
    minerHotkey: query.hotkey === undefined ? undefined : canonicalSs58(query.hotkey),
    vmName: query.vm_name,
    since,
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    limit: query.limit ?? AUDIT_PAGE_DEFAULT,
  };
}

function toItem(entry: AttestationAuditEntry): AttestationAuditItem {
  return {
    id: entry.id,
    kind: entry.kind,
    created_at: entry.createdAt.toISOString(),
    miner_hotkey: entry.minerHotkey,
    vm_name: entry.vmName,
    server_id: entry.serverId,
    client_ip: entry.clientIp,
    outcome: entry.outcome,
    error_code: entry.errorCode,
    measurement_name: entry.measurementName,
    measurement_version: entry.measurementVersion,
    tcb_status: entry.tcbStatus,
    advisory_ids: entry.advisoryIds,
    verdict: entry.verdict,
  };
}

@Injectable()
export class AttestationAuditService {
  constructor(private readonly audit: AttestationAuditRepository) {}

  async page(query: AttestationAuditQuery): Promise<AttestationAuditPage> {
    const page = await this.audit.page({
      // kind=runtime is the whole server_attestations table: registration rows are runtime checks too.
      table: query.kind === undefined ? undefined : query.kind === 'boot' ? 'boot' : 'server',
      ...trailFilter(query),
    });
    return { items: page.entries.map(toItem), next_cursor: page.next ? encodeCursor(page.next) : null };
  }
}
