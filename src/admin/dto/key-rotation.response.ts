/** Responses of POST /admin/keys/rotate and GET /admin/keys/status. */
import { IsArray, IsBoolean, IsInt, IsObject, IsString, Min, ValidateNested } from 'class-validator';
import type { KeyCustodyStatus, KeyRotationResult } from '../../keys/key-custody.service';
import { NestedArrayOf } from '../../openapi/api-doc.decorator';

export class KeyRotationResponse {
  /** The active KEK this run re-wrapped to. */
  @IsString() kek_id: string;
  /** How many data keys were re-wrapped by this call (0 when all already were). */
  @IsInt() @Min(0) rewrapped: number;
  /** Stored secrets that could not be opened (unknown KEK, damaged or moved bytes): left as they were, named in the broker's log. */
  @IsInt() @Min(0) skipped: number;
  /** Secrets still under another KEK after this run (the skipped ones, and any a replica on an older active KEK wrote meanwhile); run again, and retire the old KEK only at 0. */
  @IsInt() @Min(0) remaining: number;
}

export function toKeyRotationResponse(result: KeyRotationResult): KeyRotationResponse {
  return { kek_id: result.kekId, rewrapped: result.rewrapped, skipped: result.skipped, remaining: result.remaining };
}

export class KekUsageView {
  @IsString() kek_id: string;
  /** Whether this broker's ring holds the KEK (false: its rows cannot be opened here). */
  @IsBoolean() in_ring: boolean;
  @IsBoolean() active: boolean;
  @IsInt() @Min(0) rows: number;
  /** Rows per table. */
  @IsObject() tables: Record<string, number>;
}

export class KeyStatusResponse {
  @IsString() active_kek_id: string;
  @IsArray() @IsString({ each: true }) configured_kek_ids: string[];
  /** Every KEK id of the ring or of a stored row, with its row counts. */
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => KekUsageView) keks: KekUsageView[];
  /** KEK ids stored rows use that the ring lacks. */
  @IsArray() @IsString({ each: true }) missing_kek_ids: string[];
}

export function toKeyStatusResponse(status: KeyCustodyStatus): KeyStatusResponse {
  return {
    active_kek_id: status.activeKekId,
    configured_kek_ids: status.configuredKekIds,
    keks: status.keks.map((usage) => ({ kek_id: usage.kekId, in_ring: usage.inRing, active: usage.active, rows: usage.rows, tables: usage.tables })),
    missing_kek_ids: status.missingKekIds,
  };
}
