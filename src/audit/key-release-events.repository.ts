/**
 * key_release_events: which keys left the broker, for whom, and which volumes and generations
 * changed — never the keys. The one writer and reader of that table.
 *
 * Kinds: `root` (boot released a root key), `sync` and `sync_replay` (volume keys returned to a
 * boot token; a replay is an identical retry answered again), `legacy_get`, `replaced` (a volume
 * key in use was replaced by another generation: a rekey or a restore), `restore`, `shred`
 * (explicit), `purge` (retention), and `destroy` (server deletion before key generations; kept
 * for old rows). Gen C: `provision` (volume keys released at /provision), `promote` and `discard`
 * (a confirm), `abandon` (a pending generation never confirmed, replaced by a later issue), `k3s`
 * (a new k3s secretbox key), `confirm_replay` (an identical confirm answered again).
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Database, Executor } from '../database/executor';
import type { KeyReleaseKind } from '../common/audit/key-release-kinds';
import { AuditPosition, TrailFilter, trailConditions } from './attestation-audit.repository';

export interface KeyReleaseEvent {
  kind: KeyReleaseKind;
  createdAt: Date;
  minerHotkey: string;
  vmName: string;
  attestationId: string | null;
  clientIp: string | null;
  returned?: string[];
  created?: string[];
  rekeyed?: string[];
  pruned?: string[];
  /** Generations, causes and who acted (names and numbers only, never key material). */
  detail?: Record<string, unknown>;
}

export interface StoredKeyReleaseEvent extends Required<KeyReleaseEvent> {
  id: string;
}

export interface KeyReleaseFilter extends TrailFilter {
  kind?: KeyReleaseKind;
  limit: number;
}

interface EventRow {
  id: string;
  kind: KeyReleaseKind;
  created_at: Date;
  created_key: string;
  miner_hotkey: string;
  vm_name: string;
  attestation_id: string | null;
  client_ip: string | null;
  returned: string[];
  created: string[];
  rekeyed: string[];
  pruned: string[];
  detail: Record<string, unknown>;
}

function toEvent(row: EventRow): StoredKeyReleaseEvent {
  return {
    id: row.id,
    kind: row.kind,
    createdAt: row.created_at,
    minerHotkey: row.miner_hotkey,
    vmName: row.vm_name,
    attestationId: row.attestation_id,
    clientIp: row.client_ip,
    returned: row.returned,
    created: row.created,
    rekeyed: row.rekeyed,
    pruned: row.pruned,
    detail: row.detail,
  };
}

@Injectable()
export class KeyReleaseEventsRepository {
  constructor(private readonly db: Database) {}

  /** Writes the event in `tx`, the transaction that releases or changes the keys it names. */
  async insert(event: KeyReleaseEvent, tx: Executor): Promise<void> {
    await tx.rows(
      `INSERT INTO key_release_events (id, created_at, kind, miner_hotkey, vm_name, attestation_id, client_ip, returned, created, rekeyed, pruned, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        randomUUID(),
        event.createdAt,
        event.kind,
        event.minerHotkey,
        event.vmName,
        event.attestationId,
        event.clientIp,
        JSON.stringify(event.returned ?? []),
        JSON.stringify(event.created ?? []),
        JSON.stringify(event.rekeyed ?? []),
        JSON.stringify(event.pruned ?? []),
        JSON.stringify(event.detail ?? {}),
      ],
    );
  }

  /** Events newest first, paged by keyset on (created_at, id) like the attestation trail. */
  async page(filter: KeyReleaseFilter): Promise<{ events: StoredKeyReleaseEvent[]; next: AuditPosition | null }> {
    const parameters: unknown[] = [];
    const conditions: string[] = [];
    const bind = (value: unknown) => {
      parameters.push(value);
      return `$${parameters.length}`;
    };
    if (filter.kind !== undefined) conditions.push(`kind = ${bind(filter.kind)}`);
    conditions.push(...trailConditions(filter, bind));
    const take = bind(filter.limit + 1);
    const rows = await this.db.rows<EventRow>(
      `SELECT id, kind, created_at, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key,
              miner_hotkey, vm_name, attestation_id, client_ip, returned, created, rekeyed, pruned, detail
         FROM key_release_events ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT ${take}`,
      parameters,
    );
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return { events: page.map(toEvent), next: rows.length > filter.limit && last ? { createdAt: last.created_key, id: last.id } : null };
  }

  /** Deletes up to `batch` events older than `before`, oldest first (AUDIT_RETENTION_DAYS); returns how many. */
  async purgeBefore(before: Date, batch: number, executor: Executor): Promise<number> {
    const rows = await executor.rows<{ id: string }>(
      `DELETE FROM key_release_events WHERE id IN (SELECT id FROM key_release_events WHERE created_at < $1 ORDER BY created_at LIMIT $2) RETURNING id`,
      [before, batch],
    );
    return rows.length;
  }
}
