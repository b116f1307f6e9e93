import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsSs58 } from '../../common/validation/ss58';
import { VM_NAME_PATTERN, vmNameMessage } from '../../common/validation/vm-name';

export class VmNameParams {
  @Matches(VM_NAME_PATTERN, { message: vmNameMessage('vm_name') })
  vm_name: string;
}

export class LuksSyncRequest {
  /** Every volume the VM uses; must be names from LUKS_VOLUMES. Stored volumes not listed are deleted. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(16)
  @IsString({ each: true })
  @MaxLength(63, { each: true })
  volumes: string[];

  /** Volumes to give fresh passphrases (a subset of `volumes`): those not yet LUKS-formatted. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  @MaxLength(63, { each: true })
  rekey?: string[];
}

export class LegacyLuksQuery {
  @IsSs58()
  hotkey: string;
}

export class LegacyLuksResponse {
  /** The passphrase of volume `storage`. */
  @IsString()
  passphrase: string;
}
