/** Query of GET /admin/key-events: one event kind, and the filters and paging of every audit trail. */
import { IsIn, IsOptional } from 'class-validator';
import { KEY_RELEASE_KINDS, KeyReleaseKind } from '../../common/audit/key-release-kinds';
import { AuditTrailQuery } from './attestation-audit.query';

export class KeyEventsQuery extends AuditTrailQuery {
  /** One kind (KEY_RELEASE_KINDS: root, sync, …, promote, discard, k3s, confirm_replay). */
  @IsOptional()
  @IsIn(KEY_RELEASE_KINDS)
  kind?: KeyReleaseKind;
}
