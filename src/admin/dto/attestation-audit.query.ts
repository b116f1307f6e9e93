/** Query of GET /admin/attestations: filters, page size and the keyset cursor of the previous page. */
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsSs58 } from '../../common/validation/ss58';
import { VM_NAME_PATTERN, vmNameMessage } from '../../common/validation/vm-name';

/** `boot`: boot_attestations; `runtime`: server_attestations (registration and runtime attempts). */
export const AUDIT_KINDS = ['boot', 'runtime'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export const AUDIT_PAGE_DEFAULT = 50;
export const AUDIT_PAGE_MAX = 500;

/** What every audit trail query takes besides its kind: who, which VM, since when, and paging. */
export class AuditTrailQuery {
  /** Miner hotkey (ss58, any prefix). */
  @IsOptional()
  @IsSs58()
  hotkey?: string;

  @IsOptional()
  @Matches(VM_NAME_PATTERN, { message: vmNameMessage('vm_name') })
  vm_name?: string;

  /** ISO-8601 instant; only rows at or after it. */
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

  /** `next_cursor` of the previous page (opaque); the other parameters must stay the same. */
  @IsOptional()
  @MaxLength(200)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor must be a next_cursor value' })
  cursor?: string;
}

export class AttestationAuditQuery extends AuditTrailQuery {
  /** `boot` (boot_attestations, with the gen-C provision and confirm steps) or `runtime` (server_attestations: registration and runtime); both when absent. */
  @IsOptional()
  @IsIn(AUDIT_KINDS)
  kind?: AuditKind;
}
