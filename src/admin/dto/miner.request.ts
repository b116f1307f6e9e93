/** Request shapes of the admin miner routes. */
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsSs58 } from '../../common/validation/ss58';
import { MINER_REASON_MAX_LENGTH, MinerStatus } from '../../miners/miner.types';

export class MinerHotkeyParams {
  /** ss58, any prefix; stored in canonical form (prefix 42). */
  @IsSs58()
  hotkey: string;
}

export class SetMinerStatusRequest {
  @IsIn(['allowed', 'blocked'])
  status: MinerStatus;

  @IsOptional()
  @IsString()
  @MaxLength(MINER_REASON_MAX_LENGTH)
  reason?: string | null;
}
