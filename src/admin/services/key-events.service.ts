/**
 * The key-release trail for admins (`bootkey audit --kind keys`): every root release, sync,
 * replay, replacement, restore, shred and purge, filtered and paged like the attestation trail.
 */
import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../../common/errors';
import { canonicalSs58 } from '../../common/validation/ss58';
import { KeyReleaseEventsRepository, StoredKeyReleaseEvent } from '../../audit/key-release-events.repository';
import { AUDIT_PAGE_DEFAULT } from '../dto/attestation-audit.query';
import { KeyEventItem, KeyEventsPage } from '../dto/key-events.response';
import { KeyEventsQuery } from '../dto/key-events.query';
import { decodeCursor, encodeCursor } from './attestation-audit.service';

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
    let since: Date | undefined;
    if (query.since !== undefined) {
      since = new Date(query.since);
      if (Number.isNaN(since.getTime())) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'since must be an ISO-8601 date-time');
    }
    const page = await this.events.page({
      kind: query.kind,
      minerHotkey: query.hotkey === undefined ? undefined : canonicalSs58(query.hotkey),
      vmName: query.vm_name,
      since,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      limit: query.limit ?? AUDIT_PAGE_DEFAULT,
    });
    return { items: page.events.map(toItem), next_cursor: page.next ? encodeCursor(page.next) : null };
  }
}
