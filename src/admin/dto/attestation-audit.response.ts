/** Response of GET /admin/attestations (DESIGN.md "Details that clients rely on"). */
import { IsArray, IsIn, IsISO8601, IsObject, IsOptional, IsString, IsUUID, ValidateNested } from 'class-validator';
import { NestedArrayOf } from '../../openapi/api-doc.decorator';

export class AttestationAuditItem {
  @IsUUID() id: string;
  /** `boot` (boot_attestations), or a server_attestations row's kind as stored: `registration` or `runtime`. */
  @IsIn(['boot', 'provision', 'confirm', 'registration', 'runtime']) kind: string;
  @IsISO8601() created_at: string;
  @IsOptional() @IsString() miner_hotkey: string | null;
  @IsOptional() @IsString() vm_name: string | null;
  /** null for boot attempts. */
  @IsOptional() @IsString() server_id: string | null;
  @IsOptional() @IsString() client_ip: string | null;
  @IsIn(['verified', 'failed']) outcome: string;
  @IsOptional() @IsString() error_code: string | null;
  @IsOptional() @IsString() measurement_name: string | null;
  @IsOptional() @IsString() measurement_version: string | null;
  @IsOptional() @IsString() tcb_status: string | null;
  @IsArray() @IsString({ each: true }) advisory_ids: string[];
  /** Per-check outcome (e.g. for a measurement miss, each register expected vs actual of the nearest set). */
  @IsObject() verdict: Record<string, unknown>;
}

export class AttestationAuditPage {
  /** Newest first (created_at, then id, descending). */
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => AttestationAuditItem) items: AttestationAuditItem[];
  /** Pass as `cursor` for the next page; null on the last page. */
  @IsOptional() @IsString() next_cursor: string | null;
}
