/** key_release_events: which keys left the broker, for whom, and which volumes changed — never the keys. */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Executor } from '../database/executor';

export interface KeyReleaseEvent {
  kind: 'root' | 'sync' | 'legacy_get' | 'destroy';
  createdAt: Date;
  minerHotkey: string;
  vmName: string;
  attestationId: string | null;
  clientIp: string | null;
  returned?: string[];
  created?: string[];
  rekeyed?: string[];
  pruned?: string[];
}

@Injectable()
export class KeyReleaseEventsRepository {
  /** Writes the event in `tx`, the transaction that releases or changes the keys it names. */
  async insert(event: KeyReleaseEvent, tx: Executor): Promise<void> {
    await tx.rows(
      `INSERT INTO key_release_events (id, created_at, kind, miner_hotkey, vm_name, attestation_id, client_ip, returned, created, rekeyed, pruned)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
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
      ],
    );
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
