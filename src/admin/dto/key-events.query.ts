/** Query of GET /admin/key-events: filters, page size and the keyset cursor of the previous page. */
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { KEY_RELEASE_KINDS, KeyReleaseKind } from '../../audit/key-release-events.repository';
import { IsSs58 } from '../../common/validation/ss58';
import { VM_NAME_PATTERN, vmNameMessage } from '../../common/validation/vm-name';
import { AUDIT_PAGE_MAX } from './attestation-audit.query';

export class KeyEventsQuery {
  /** One kind: root, sync, sync_replay, legacy_get, replaced, restore, shred, purge, destroy. */
  @IsOptional()
  @IsIn(KEY_RELEASE_KINDS)
  kind?: KeyReleaseKind;

  @IsOptional()
  @IsSs58()
  hotkey?: string;

  @IsOptional()
  @Matches(VM_NAME_PATTERN, { message: vmNameMessage('vm_name') })
  vm_name?: string;

  /** ISO-8601 instant; only events at or after it. */
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'since must be an ISO-8601 date-time' })
  since?: string;

  /** Page size, 1..500 (default 50). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(AUDIT_PAGE_MAX)
  limit?: number;

  @IsOptional()
  @MaxLength(200)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor must be a next_cursor value' })
  cursor?: string;
}
