import { IsString, Matches } from 'class-validator';

export class BootAttestationResponse {
  /** The root-disk passphrase of the matched measurement set. */
  @IsString()
  key: string;

  /** One-time token for the volume sync (64 hex). */
  @Matches(/^[0-9a-f]{64}$/)
  boot_token: string;
}
