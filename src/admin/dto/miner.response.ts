/** Response shapes of the admin miner routes. */
import { IsArray, IsBoolean, IsIn, IsISO8601, IsOptional, IsString, ValidateNested } from 'class-validator';
import { NestedArrayOf } from '../../openapi/api-doc.decorator';
import type { MinerRecord } from '../../miners/miner.types';

export class MinerResponse {
  @IsString() hotkey: string;
  @IsIn(['allowed', 'blocked']) status: string;
  @IsOptional() @IsString() reason: string | null;
  @IsISO8601() updated_at: string;
}

export class MinerListResponse {
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => MinerResponse) items: MinerResponse[];
}

export class MinerRemovedResponse {
  @IsString() hotkey: string;
  @IsBoolean() removed: boolean;
}

export function toMinerResponse(record: MinerRecord): MinerResponse {
  return { hotkey: record.hotkey, status: record.status, reason: record.reason, updated_at: record.updatedAt.toISOString() };
}
