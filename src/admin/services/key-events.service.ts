/**
 * The key-release trail for admins (`bootkey audit --kind keys`): every key-release event
 * (KEY_RELEASE_KINDS), filtered and paged like the attestation trail.
 */
import { Injectable } from '@nestjs/common';
import { KeyReleaseEventsRepository, StoredKeyReleaseEvent } from '../../audit/key-release-events.repository';
import { KeyEventItem, KeyEventsPage } from '../dto/key-events.response';
import { KeyEventsQuery } from '../dto/key-events.query';
import { encodeCursor, trailFilter } from './attestation-audit.service';

function toItem(event: StoredKeyReleaseEvent): KeyEventItem {
  return {
    id: event.id,
    kind: event.kind,
    created_at: event.createdAt.toISOString(),
    miner_hotkey: event.minerHotkey,
    vm_name: event.vmName,
    attestation_id: event.attestationId,
    client_ip: event.clientIp,
    returned: event.returned,
    created: event.created,
    rekeyed: event.rekeyed,
    pruned: event.pruned,
    detail: event.detail,
  };
}

@Injectable()
export class KeyEventsService {
  constructor(private readonly events: KeyReleaseEventsRepository) {}

  async page(query: KeyEventsQuery): Promise<KeyEventsPage> {
    const page = await this.events.page({ kind: query.kind, ...trailFilter(query) });
    return { items: page.events.map(toItem), next_cursor: page.next ? encodeCursor(page.next) : null };
  }
}
