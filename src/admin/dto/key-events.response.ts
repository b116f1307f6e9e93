/** Response of GET /admin/key-events: which keys left or changed, never the keys. */
import { IsArray, IsIn, IsISO8601, IsObject, IsOptional, IsString, IsUUID, ValidateNested } from 'class-validator';
import { KEY_RELEASE_KINDS } from '../../common/audit/key-release-kinds';
import { NestedArrayOf } from '../../openapi/api-doc.decorator';

export class KeyEventItem {
  @IsUUID() id: string;
  @IsIn(KEY_RELEASE_KINDS) kind: string;
  @IsISO8601() created_at: string;
  @IsString() miner_hotkey: string;
  @IsString() vm_name: string;
  /** The boot attestation that paid for it (syncs, replays, replacements by rekey); null for miner and admin actions and the purge. */
  @IsOptional() @IsString() attestation_id: string | null;
  @IsOptional() @IsString() client_ip: string | null;
  @IsArray() @IsString({ each: true }) returned: string[];
  @IsArray() @IsString({ each: true }) created: string[];
  @IsArray() @IsString({ each: true }) rekeyed: string[];
  /** Volumes retired (sync), shredded (shred, purge) or destroyed (destroy). */
  @IsArray() @IsString({ each: true }) pruned: string[];
  /** Generations, causes and who acted. */
  @IsObject() detail: Record<string, unknown>;
}

export class KeyEventsPage {
  /** Newest first. */
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => KeyEventItem) items: KeyEventItem[];
  @IsOptional() @IsString() next_cursor: string | null;
}
