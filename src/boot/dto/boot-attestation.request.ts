import { IsBoolean, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { IsSs58 } from '../../common/validation/ss58';
import { VM_NAME_PATTERN, vmNameMessage } from '../../common/validation/vm-name';
import { QUOTE_BASE64_MAX_CHARS } from '../../attestation/dto/quote.request';

export class BootAttestationRequest {
  /** The TDX quote, base64; REPORTDATA = nonce || SHA-256(client certificate SPKI). */
  @IsString()
  @MinLength(1)
  @MaxLength(QUOTE_BASE64_MAX_CHARS)
  quote: string;

  @IsSs58()
  miner_hotkey: string;

  @Matches(VM_NAME_PATTERN, { message: vmNameMessage('vm_name') })
  vm_name: string;

  /** Gen C: the VM found its image's first-boot marker (LUKS2 token 15): hand out the set's root passphrase. */
  @IsOptional()
  @IsBoolean()
  first_boot?: boolean;
}
