import { ArrayMaxSize, IsArray, IsObject, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { QUOTE_BASE64_MAX_CHARS } from '../../attestation/dto/quote.request';
import { VM_NAME_PATTERN, vmNameMessage } from '../../common/validation/vm-name';

export class VmNameParams {
  @Matches(VM_NAME_PATTERN, { message: vmNameMessage('vm_name') })
  vm_name: string;
}

/** `POST /servers/{vm}/provision` and `/luks/attest`: the runtime quote and the volumes to key. */
export class ProvisionRequest {
  /** TDX quote, base64; REPORTDATA = luks_quote_nonce || SHA-256(client certificate SPKI); RTMR3 = the set's runtime value. */
  @IsString()
  @MinLength(1)
  @MaxLength(QUOTE_BASE64_MAX_CHARS)
  quote: string;

  /** The volumes to key: `storage` and `tdx-cache` (a release candidate may ask for fewer). */
  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  volumes: string[];
}

export class VolumeKeyPair {
  /** The key that opens the volume (128 hex); null when it has none yet (format it with `next`). */
  current: string | null;
  /** The next key (128 hex), pending until the confirm. */
  next: string;
}

export class ProvisionResponse {
  volumes: Record<string, VolumeKeyPair>;
  /** The X-Confirm-Nonce of the storage confirm (64 hex). */
  confirm_nonce: string;
  /** The k3s secretbox key (base64 of 32 bytes), stable while the storage volume keeps its key. */
  k3s_encryption_key: string;
}

/** `POST /servers/{vm}/provision/confirm` and `/luks/confirm`: `{volumes: {<volume>: {rotated: bool}}}`. */
export class ConfirmRequest {
  @IsObject()
  volumes: Record<string, unknown>;
}

export class ConfirmResponse {
  status: 'confirmed';
  volumes: Record<string, { result: 'promoted' | 'no_pending' | 'discarded' }>;
}
