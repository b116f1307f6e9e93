import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsSs58 } from '../../common/validation/ss58';
import { VM_NAME_PATTERN } from '../../common/validation/vm-name';

export class VmNameParams {
  @Matches(VM_NAME_PATTERN, { message: 'vm_name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' })
  vm_name: string;
}

export class LuksSyncRequest {
  /** Every volume the VM uses; must be names from LUKS_VOLUMES. Stored volumes not listed are retired (kept, not deleted). */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(16)
  @IsString({ each: true })
  @MaxLength(63, { each: true })
  volumes: string[];

  /** Volumes to give fresh passphrases as a new generation (a subset of `volumes`): those whose device is blank. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  @MaxLength(63, { each: true })
  rekey?: string[];

  /** Answer `{<volume>: {current, previous: [newest first]}}` with the retained generations (bootkey's initramfs). */
  @IsOptional()
  @IsBoolean()
  previous?: boolean;
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
