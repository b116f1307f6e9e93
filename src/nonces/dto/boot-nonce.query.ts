import { IsOptional } from 'class-validator';
import { IsSs58 } from '../../common/validation/ss58';

export class BootNonceQuery {
  /** Gen-C VMs (1.4.0) name their miner: the nonce then serves only a boot claiming (and, signed, proving) that hotkey. */
  @IsOptional()
  @IsSs58()
  miner_hotkey?: string;
}
