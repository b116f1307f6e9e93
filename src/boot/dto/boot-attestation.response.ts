import { IsOptional, IsString, Matches, ValidateIf } from 'class-validator';

/**
 * Gen B (sets below GEN_C_MIN_VERSION): `{key, boot_token, luks_quote_nonce}` and the three gen-C
 * fields null. Gen C: `{key, luks_quote_nonce, root_next, root_confirm_nonce, vm_auth_ss58}`, no
 * boot token (its VM continues with /provision).
 */
export class BootAttestationResponse {
  /** The root-disk passphrase: the set's, or (gen C) the VM's own current root key. */
  @IsString()
  key: string;

  /** One-time token for the volume sync (64 hex); gen B only. */
  @IsOptional()
  @Matches(/^[0-9a-f]{64}$/)
  boot_token?: string;

  /** Single-use nonce (64 hex, 10 min) for the runtime quote of /provision or /luks/attest: REPORTDATA[0..32). */
  @Matches(/^[0-9a-f]{64}$/)
  luks_quote_nonce: string;

  /** Gen C: the next root key (128 hex), pending until the root confirm; null for gen B. */
  @ValidateIf((_, value) => value !== null)
  @Matches(/^[0-9a-f]{128}$/)
  root_next: string | null;

  /** Gen C: the X-Confirm-Nonce of the root confirm (64 hex); null for gen B. */
  @ValidateIf((_, value) => value !== null)
  @Matches(/^[0-9a-f]{64}$/)
  root_confirm_nonce: string | null;

  /** Gen C: the ss58 of this boot's vm_auth key, the only validator the VM's attestation proxy answers; null for gen B. */
  @ValidateIf((_, value) => value !== null)
  @IsString()
  vm_auth_ss58: string | null;
}
